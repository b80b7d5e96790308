"""Pieces shared by the compiled text planner (``_split.pyx``) and its twin (``_split_py``).

Only what is off the hot path lives here: the validation of :class:`Limits` values and the
wording of every :class:`~smsdk.errors.PlanError` / ``TypeError`` the planner raises, so
that both implementations say exactly the same thing.
"""

from __future__ import annotations

from smsdk.errors import PlanError

MSG_FMT_ASCII = 0
MSG_FMT_UCS2 = 8
MSG_FMT_GBK = 15

# The public names of smsdk.text; both implementations export exactly these.
TEXT_API: tuple[str, ...] = (
    "MSG_FMT_ASCII",
    "MSG_FMT_UCS2",
    "MSG_FMT_GBK",
    "Limits",
    "DEFAULT_LIMITS",
    "Part",
    "Plan",
    "count",
    "classify",
    "plan",
    "parse_udh",
    "Reassembler",
    "ReassembledMessage",
    "IncompleteMessage",
)

#: UDH of the 8-bit-reference concatenation IE (05 00 03 RR TT NN) and the 16-bit one
#: (06 08 04 RH RL TT NN).
UDH8_LEN = 6
UDH16_LEN = 7
MAX_CONTENT = 140

SIGNATURE_OPEN = "\u3010"  # 【
SIGNATURE_CLOSE = "\u3011"  # 】

#: Field names of Limits in constructor order, with their defaults.
LIMIT_DEFAULTS: dict[str, int] = {
    "cut": 60,
    "single_max": 70,
    "single_max_ascii": 140,
    "part_chars": 67,
    "part_chars_16": 66,
    "max_parts": 255,
    "signature_max": 10,
}
LIMIT_FIELDS: tuple[str, ...] = tuple(LIMIT_DEFAULTS)


def check_limits(values: dict[str, object]) -> tuple[int, ...]:
    """Validate Limits values; return them as a tuple in ``LIMIT_FIELDS`` order.

    Raises TypeError for a non-int and PlanError for a value that makes no sense (a part
    that cannot hold its UDH in 140 bytes, a signature that leaves no room for text, ...).
    """
    ints: dict[str, int] = {}
    for name in LIMIT_FIELDS:
        v = values[name]
        if type(v) is bool or not isinstance(v, int):
            raise TypeError(f"Limits.{name} must be an int, not {type(v).__name__}")
        ints[name] = v
    cut = ints["cut"]
    single_max = ints["single_max"]
    single_max_ascii = ints["single_max_ascii"]
    part_chars = ints["part_chars"]
    part_chars_16 = ints["part_chars_16"]
    max_parts = ints["max_parts"]
    signature_max = ints["signature_max"]
    half = MAX_CONTENT // 2
    if not 2 <= single_max <= half:
        raise PlanError(
            f"Limits.single_max={single_max} must be 2..{half}: one UCS2 SMS holds "
            f"{half} chars in {MAX_CONTENT} bytes"
        )
    if not single_max <= single_max_ascii <= MAX_CONTENT:
        raise PlanError(
            f"Limits.single_max_ascii={single_max_ascii} must be {single_max}..{MAX_CONTENT} "
            f"(single_max..{MAX_CONTENT} bytes)"
        )
    if not 2 <= cut <= single_max:
        raise PlanError(f"Limits.cut={cut} must be 2..single_max ({single_max})")
    top8 = (MAX_CONTENT - UDH8_LEN) // 2
    if not 2 <= part_chars <= top8:
        raise PlanError(
            f"Limits.part_chars={part_chars} must be 2..{top8}: a UCS2 part and its "
            f"{UDH8_LEN}-byte UDH must fit in {MAX_CONTENT} bytes"
        )
    top16 = (MAX_CONTENT - UDH16_LEN) // 2
    if not 2 <= part_chars_16 <= top16:
        raise PlanError(
            f"Limits.part_chars_16={part_chars_16} must be 2..{top16}: a UCS2 part and its "
            f"{UDH16_LEN}-byte UDH must fit in {MAX_CONTENT} bytes"
        )
    if not 1 <= max_parts <= 255:
        raise PlanError(f"Limits.max_parts={max_parts} must be 1..255 (the UDH total is one byte)")
    if signature_max < 0:
        raise PlanError(f"Limits.signature_max={signature_max} must not be negative")
    smallest = min(part_chars, part_chars_16)
    if signature_max >= smallest - 1:
        raise PlanError(
            f"Limits.signature_max={signature_max} must be below part_chars - 1 ({smallest - 1}): "
            "the last part must keep room for at least one character outside the BMP"
        )
    if cut + signature_max > single_max:
        raise PlanError(
            f"Limits.cut={cut} + signature_max={signature_max} exceeds single_max={single_max}: "
            "a cut-sized piece plus the signature must fit in one SMS"
        )
    return tuple(ints[name] for name in LIMIT_FIELDS)


# ---------------------------------------------------------------------------------------
# Error wording (both implementations call these so their messages are identical).


def not_str(what: str, value: object) -> TypeError:
    return TypeError(f"{what} must be a str, not {type(value).__name__}")


def bad_limits(value: object) -> TypeError:
    return TypeError(f"limits must be a Limits, not {type(value).__name__}")


def bad_mode(mode: object) -> PlanError:
    return PlanError(f"unknown mode {mode!r}: expected 'concat' or 'pieces'")


def bad_reference_type(value: object) -> TypeError:
    return TypeError(f"udh_reference must be an int, not {type(value).__name__}")


def bad_reference(value: int, udh16: bool) -> PlanError:
    if udh16:
        return PlanError(f"udh_reference {value} is outside 0..65535 (16-bit UDH reference)")
    return PlanError(f"udh_reference {value} is outside 0..255 (8-bit UDH reference)")


def bad_signature_form(signature: str) -> PlanError:
    return PlanError(
        f"signature {signature!r} must be written 【…】: a name between full-width brackets "
        "(or \"\" for no forced signature)"
    )


def signature_too_long(signature: str, s: int, limit: int) -> PlanError:
    return PlanError(
        f"signature {signature!r} counts {s} chars; at most {limit} are allowed (brackets included)"
    )


def lone_surrogate(what: str, char: str, index: int) -> PlanError:
    return PlanError(
        f"{what} has a lone surrogate U+{ord(char):04X} at index {index}: "
        "it cannot be encoded in any SMS format"
    )


def empty_text() -> PlanError:
    return PlanError("text is empty: there is nothing to send")


def too_many_parts(n: int, k: int, p: int, s: int, max_parts: int) -> PlanError:
    return PlanError(
        f"text of {n} chars needs {k} concatenated parts ({p} chars each, the last leaving "
        f"room for a {s}-char signature); at most {max_parts} are allowed"
    )


def too_many_pieces(n: int, k: int, c: int, max_parts: int) -> PlanError:
    return PlanError(
        f"text of {n} chars needs {k} pieces of at most {c} chars; at most {max_parts} are allowed"
    )


def limits_repr(values: tuple[int, ...]) -> str:
    inner = ", ".join(f"{name}={v}" for name, v in zip(LIMIT_FIELDS, values))
    return f"Limits({inner})"


def part_repr(p) -> str:
    return (
        f"Part(msg_fmt={p.msg_fmt}, tp_udhi={p.tp_udhi}, pk_total={p.pk_total}, "
        f"pk_number={p.pk_number}, text={p.text!r}, content={p.content!r})"
    )


def plan_repr(p) -> str:
    return (
        f"Plan(mode={p.mode!r}, chars={p.chars}, signature={p.signature!r}, "
        f"parts={len(p.parts)}, sms_per_recipient={p.sms_per_recipient})"
    )
