"""The workspace inbox (CLIENT-inbox) with smsdk.Client against the in-process fake: MOs
received over EMPP are stored once each with their sender and text; unread count, read,
delete, export and reply behave like the client manual's 短信箱."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from smsdk.workspace import Workspace
from smsdk.workspace.inbox import Inbox

from .checks_model import bmp_char, cjk, mobiles, sized_text
from .registry import check
from .world import MAIN, MAIN_PW, SIG, World

mo_texts = st.one_of(sized_text(cjk, 1, 140, (70, 71)), sized_text(bmp_char, 1, 100))


@check("CLIENT-inbox")
def inbox_roundtrip(ctx):
    """any MOs (any BMP text up to 140 chars, concatenated when long; some sent while the account
    was away) then any reads, deletes and one reply: each MO is stored once with its sender, text and
    extension; unread = received − read − deleted; the csv export gives back every kept text; the
    reply reaches the sender's handset and marks the message read"""

    @ctx.settings(25)
    @given(mos=st.lists(st.tuples(mobiles, mo_texts, st.sampled_from(["", "7", "88"]), st.booleans()),
                        min_size=1, max_size=5),
           ops=st.lists(st.tuples(st.sampled_from(["read", "delete"]), st.integers(0, 4)), max_size=5),
           reply_to=st.one_of(st.none(), st.integers(0, 4)))
    def prop(mos, ops, reply_to):
        ws = Workspace(":memory:")
        try:
            with World() as w:
                box = Inbox(ws, MAIN)
                for sender, text, ext, early in mos:
                    if early:  # kept offline for the account, delivered at its login
                        w.platform.inject_mo(sender, MAIN + ext, text)
                c = w.started(MAIN, MAIN_PW, on_mo=box.receiver(MAIN))
                for sender, text, ext, early in mos:
                    if not early:
                        w.platform.inject_mo(sender, MAIN + ext, text)
                w.run(5)
                got = sorted((m.sender, m.text, m.extension) for m in box.list())
                want = sorted((s, t, e) for s, t, e, _ in mos)
                assert got == want, (got, want)
                msgs = sorted(box.list(), key=lambda m: m.id)
                read: set[int] = set()
                deleted: set[int] = set()
                for op, i in ops:
                    if not msgs:
                        break
                    m = msgs[i % len(msgs)]
                    if m.id in deleted:
                        continue
                    if op == "read":
                        assert box.read(m.id).read
                        read.add(m.id)
                    else:
                        assert box.delete([m.id]) == 1
                        deleted.add(m.id)
                kept = [m for m in msgs if m.id not in deleted]
                assert box.unread_count() == len([m for m in kept if m.id not in read])
                rows = list(csv.DictReader(io.StringIO(box.export_text("csv"))))
                assert sorted(r["text"] for r in rows) == sorted(m.text or "" for m in kept)
                if reply_to is not None and kept:
                    m = kept[reply_to % len(kept)]
                    sub = box.reply(m.id, "收到", c)
                    assert w.run_until(lambda: sub.deferred.called)
                    assert "收到" + SIG in w.platform.handset(m.sender).texts
                    assert box.get(m.id).read
        finally:
            ws.close()

    prop()
