# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False, nonecheck=False, embedsignature=True
"""Compiled PDU codec: EMPP, CMPP 2.0 and CMPP 3.0.

The twin ``_codec_py`` is the reference: same names, same behaviour, same exceptions (class,
``field`` and message).  Both are driven by the layout tables of ``_layouts.py``: this module
compiles them into C arrays at import and interprets them with direct byte access: encode
writes every field straight into one preallocated bytes object (no per-field Python
objects), decode reads straight from the buffer into the record's C array of values.

The value classes are generated from ``_layouts.RECORDS`` by tools/gen_codec_records.py
into ``_records.pxi`` (included below; tests/test_stubs.py fails while it is stale);
``_self_check`` also verifies at import that the built module matches the table: names,
order, defaults, Command_Ids.  See docs/codec.md.
"""

cimport cython
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.long cimport PyLong_AsLongLongAndOverflow, PyLong_FromUnsignedLong
from cpython.dict cimport PyDict_Copy, PyDict_Next
from cpython.object cimport Py_EQ, Py_TYPE, PyObject_IsInstance, PyObject_RichCompareBool, PyTypeObject
from cpython.ref cimport Py_INCREF, Py_XDECREF, PyObject
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE, PyTuple_New, PyTuple_SET_ITEM
from cpython.unicode cimport PyUnicode_1BYTE_KIND
from libc.stdint cimport uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcmp, memcpy, memmove, memset

import inspect as _inspect

from smsdk import _layouts as _L
from smsdk._authenticator import (
    check_connect,
    connect_authenticator,
    connect_fields as _connect_fields,
    connect_resp_authenticator,
    timestamp_from_datetime,
)
from smsdk._layouts import (
    DEFAULT_MAX_LENGTH,
    HEADER_SIZE,
    VERSION_CMPP2,
    VERSION_CMPP3,
    VERSION_EMPP,
    VERSIONS,
    CommandId,
    Dialect,
    command_name,
)
from smsdk.errors import (
    FieldValueError,
    FrameLengthError,
    LengthMismatchError,
    ProtocolError,
    TruncatedError,
    UnknownCommandError,
)

__all__ = list(_L.CODEC_API)

cdef extern from *:
    """
    static PyObject *smsdk_tp_new(PyObject *cls, PyObject *args) {
        return ((PyTypeObject *)cls)->tp_new((PyTypeObject *)cls, args, NULL);
    }
    """
    object smsdk_tp_new(object cls, object args)

cdef extern from *:
    """
    /* d[key] for a dict of exact str -> small exact int, -1 when absent; no exception */
    static Py_ssize_t smsdk_field_index(PyObject *d, PyObject *key) {
        PyObject *j = PyDict_GetItemWithError(d, key);
        if (j == NULL) {
            PyErr_Clear();
            return -1;
        }
        return PyLong_AsSsize_t(j);
    }
    static void smsdk_set_tp_init(PyObject *type, void *f) {
        ((PyTypeObject *)type)->tp_init = (initproc)f;
    }
    """
    Py_ssize_t smsdk_field_index(PyObject *d, PyObject *key) noexcept
    void smsdk_set_tp_init(object type, void *f)
    Py_ssize_t PyDict_GET_SIZE(object d)
    PyTypeObject PyLong_Type
    PyTypeObject PyUnicode_Type
    PyTypeObject PyBytes_Type
    PyTypeObject PyTuple_Type

# Wire kinds and attribute types (checked against _layouts at import).
cdef enum:
    K_U8 = 1
    K_U32 = 2
    K_BYTES = 3
    K_TEXT = 4
    K_DIGITS = 5
    K_COUNT = 6
    K_DESTS = 7
    K_LENGTH = 8
    K_CONTENT = 9
    K_CONTENT_OR_REPORT = 10

cdef enum:
    T_INT = 1
    T_OPTINT = 2
    T_STR = 3
    T_BYTES = 4
    T_STRS = 5
    T_CONTENT = 6
    T_CONTENT_REPORT = 7

include "_records_sizes.pxi"  # N_RECORDS, MAX_FIELDS

cdef enum:
    N_DIALECTS = 4
    MAX_OPS = 32
    MAX_ABSENT = 4
    CMD_SLOTS = 512
    HEADER = 12
    MAX_CONTENT = 255

cdef uint32_t MAX_U32 = 0xFFFFFFFFu

cdef tuple _EMPTY = ()
_RECORDS = _L.RECORDS

# ---------------------------------------------------------------------------------------
# Value classes


def _repr_value(v):
    if type(v) is bytes:
        return f"bytes.fromhex('{v.hex()}')" if v else "b''"
    return repr(v)


def _signature(spec):
    return _inspect.Signature(
        [
            _inspect.Parameter(a, _inspect.Parameter.POSITIONAL_OR_KEYWORD, default=d)
            for a, _t, d in spec.fields
        ]
    )


# What _check_value converts or refuses (with PyObject_IsInstance: like the twin's
# ``isinstance``, it honours a ``__class__`` that differs from the object's type).
cdef tuple _BYTES_LIKE = (bytearray, memoryview, bytes)
cdef tuple _NOT_A_SEQUENCE = (str, bytes, bytearray, memoryview)


cdef object _check_value(object cls, tuple fields, Py_ssize_t i, int t, object v):
    """One attribute's value, type-checked and normalised (the constructor's job); the same
    steps, in the same order, as the twin's ``_normalise`` for one field."""
    if t == T_INT or t == T_OPTINT:
        if type(v) is not int:
            if t == T_OPTINT and v is None:
                return v
            if not PyObject_IsInstance(v, int):
                raise TypeError(f"{cls.__name__}.{fields[i]} must be int, not {type(v).__name__}")
            return int(v)
    elif t == T_STR:
        if type(v) is not str:
            if not PyObject_IsInstance(v, str):
                raise TypeError(f"{cls.__name__}.{fields[i]} must be str, not {type(v).__name__}")
            return str.__str__(v)
    elif t == T_BYTES or t == T_CONTENT or t == T_CONTENT_REPORT:
        if type(v) is not bytes:
            if PyObject_IsInstance(v, _BYTES_LIKE):
                return bytes(v)
            # a real type check (not isinstance): the object's C fields are read
            elif t == T_CONTENT_REPORT and isinstance(v, StatusReport):
                if not (<_Record>v)._ready:
                    raise TypeError(f"{cls.__name__}.{fields[i]} is an uninitialised StatusReport")
            else:
                want = "bytes or a StatusReport" if t == T_CONTENT_REPORT else "bytes"
                raise TypeError(f"{cls.__name__}.{fields[i]} must be {want}, not {type(v).__name__}")
    else:  # T_STRS
        if type(v) is not tuple:
            if PyObject_IsInstance(v, _NOT_A_SEQUENCE):
                raise TypeError(
                    f"{cls.__name__}.{fields[i]} must be a sequence of str, not {type(v).__name__}"
                )
            try:
                v = tuple(v)
            except TypeError:
                raise TypeError(
                    f"{cls.__name__}.{fields[i]} must be a sequence of str, not {type(v).__name__}"
                ) from None
        for e in v:
            if type(e) is not str:
                if not PyObject_IsInstance(e, str):
                    raise TypeError(
                        f"{cls.__name__}.{fields[i]} entries must be str, not {type(e).__name__}"
                    )
                v = tuple([str.__str__(x) for x in v])
                break
    return v


cdef tuple _normalise(object cls, list values):
    """Check the Python type of every attribute and normalise it (the general constructor)."""
    cdef tuple fields = cls._fields
    cdef tuple types = cls._types
    cdef Py_ssize_t i
    for i in range(len(types)):
        values[i] = _check_value(cls, fields, i, types[i], values[i])
    return tuple(values)


cdef inline object _get(_Record r, Py_ssize_t i):
    if r._f == NULL or r._f[i] == NULL:
        raise AttributeError(f"{type(r).__name__} was not initialised")
    return <object>r._f[i]


# SLOT_OFFSET[type id]: where a class keeps its values (each class has an array of its own
# size; a Python subclass keeps its base's layout, so the offset holds for it too).
cdef Py_ssize_t SLOT_OFFSET[N_RECORDS]


cdef inline void _bind_slots(_Record obj, int tid) noexcept:
    obj._f = <PyObject **>(<char *><PyObject *>obj + SLOT_OFFSET[tid])
    obj._tid = tid


# ---------------------------------------------------------------------------------------
# The constructor.  CTOR[type id] holds what it used to read from the class on every call
# (filled and checked against the classes at import, by _compile_ctor_meta).  The leaf
# classes' tp_init takes the fast path: arguments go straight into a C array of owned
# references; a value of the exact type (the usual case) is taken as it is, any other goes
# through _check_value (the twin's rules, shared with the general path); only once every
# value is good are they moved into the object, so a refused call stores nothing.  Whatever
# the fast path cannot take without running Python code (too many arguments, a keyword
# that is not a field, __init__ run twice ...) goes to the general path, which raises the
# twin's error.  So does a Python subclass, which may override _fields & co.

cdef struct CtorMeta:
    PyTypeObject *cls
    PyObject *index   # {field name: position}, a private copy of the class's _index
    PyObject *fields  # the class's _fields
    Py_ssize_t n
    int types[MAX_FIELDS]
    PyObject *defaults[MAX_FIELDS]

cdef CtorMeta CTOR[N_RECORDS]
cdef int CTOR_ORDER[N_RECORDS]  # type ids, most constructed first (a short linear search)
cdef PyTypeObject *STATUS_REPORT_TYPE = NULL


cdef inline int _exact_tid(PyTypeObject *tp) noexcept:
    cdef int k, tid
    for k in range(N_RECORDS):
        tid = CTOR_ORDER[k]
        if CTOR[tid].cls == tp:
            return tid
    return -1


cdef bint _fits(PyTypeObject *tp, int tid, Py_ssize_t n) noexcept:
    """Whether n values bound as type id tid stay inside an object of type tp."""
    cdef Py_ssize_t size = 0
    if tid < 0 or tid >= N_RECORDS:
        return False
    while tp != NULL and _exact_tid(tp) < 0:
        tp = tp.tp_base  # up to the generated class tp derives from, whose layout it has
    if tp != NULL:
        size = tp.tp_basicsize
    return SLOT_OFFSET[tid] + n * <Py_ssize_t>sizeof(PyObject *) <= size


cdef inline void _release(PyObject **vals, Py_ssize_t n) noexcept:
    cdef Py_ssize_t i
    for i in range(n):
        Py_XDECREF(vals[i])
        vals[i] = NULL


cdef inline bint _accepted(int t, PyObject *v) noexcept:
    """True when ``_check_value`` would return v itself without running any Python code."""
    cdef PyTypeObject *tp = v.ob_type
    cdef Py_ssize_t k
    if t == T_INT:
        return tp == &PyLong_Type
    if t == T_STR:
        return tp == &PyUnicode_Type
    if t == T_BYTES or t == T_CONTENT:
        return tp == &PyBytes_Type
    if t == T_OPTINT:
        return tp == &PyLong_Type or v == <PyObject *>None
    if t == T_CONTENT_REPORT:
        return tp == &PyBytes_Type or (tp == STATUS_REPORT_TYPE and (<_Record>v)._ready)
    # T_STRS
    if tp != &PyTuple_Type:
        return False
    for k in range(PyTuple_GET_SIZE(<object>v)):
        if (<PyObject *>PyTuple_GET_ITEM(<object>v, k)).ob_type != &PyUnicode_Type:
            return False
    return True


cdef int _bind_keywords(CtorMeta *m, PyObject **vals, Py_ssize_t nargs, object kwargs) noexcept:
    """Store the keyword arguments (new references) in vals; 0 if the general path must do it
    (not a field, also given positionally, not an exact str): nothing was stored then."""
    cdef Py_ssize_t pos = 0, j
    cdef PyObject *key
    cdef PyObject *value
    while PyDict_Next(kwargs, &pos, &key, &value):
        if key.ob_type != &PyUnicode_Type:
            return 0
        # exact str keys on both sides: the lookup runs no Python code
        j = smsdk_field_index(m.index, key)
        if j < 0 or j < nargs or j >= m.n or vals[j] != NULL:
            return 0
        Py_INCREF(<object>value)
        vals[j] = value
    return 1


cdef int _init_fast(_Record self, int tid, tuple args, object kwargs) except -1:
    """Construct a leaf-class object; 1 when done, 0 when the general path must (nothing
    has run or changed then)."""
    cdef CtorMeta *m = &CTOR[tid]
    cdef Py_ssize_t n = m.n, nargs = PyTuple_GET_SIZE(args), i
    cdef PyObject *vals[MAX_FIELDS]
    cdef PyObject *v
    cdef int t
    if self._ready or nargs > n:
        return 0
    for i in range(nargs):
        v = <PyObject *>PyTuple_GET_ITEM(args, i)
        Py_INCREF(<object>v)
        vals[i] = v
    for i in range(nargs, n):
        vals[i] = NULL
    if kwargs is not None and PyDict_GET_SIZE(kwargs):
        if not _bind_keywords(m, vals, nargs, kwargs):
            _release(vals, n)
            return 0
    for i in range(nargs, n):
        if vals[i] == NULL:
            v = m.defaults[i]
            Py_INCREF(<object>v)
            vals[i] = v
    for i in range(n):
        t = m.types[i]
        if not _accepted(t, vals[i]):
            _convert(self, <tuple>m.fields, vals, n, i, t)
    _commit(self, tid, vals, n)
    return 1


cdef int _convert(_Record self, tuple fields, PyObject **vals, Py_ssize_t n, Py_ssize_t i,
                  int t) except -1:
    """vals[i] = _check_value(vals[i]); on error every reference in vals is released."""
    cdef PyObject *old = vals[i]
    try:
        new = _check_value(type(self), fields, i, t, <object>old)
    except BaseException:
        _release(vals, n)
        raise
    Py_INCREF(new)
    vals[i] = <PyObject *>new
    Py_XDECREF(old)
    return 0


cdef void _commit(_Record self, int tid, PyObject **vals, Py_ssize_t n) noexcept:
    """Move n owned references into the object's slots and mark it ready."""
    cdef PyObject *old[MAX_FIELDS]
    cdef Py_ssize_t nold = 0, i
    if self._ready and self._f != NULL:
        # an __init__ that ran to the end while this one was converting a value (only
        # possible from Python code that conversion ran): like the twin, the last one wins
        nold = self._n
        memcpy(old, self._f, nold * sizeof(PyObject *))
    _bind_slots(self, tid)
    memcpy(self._f, vals, n * sizeof(PyObject *))
    for i in range(n, nold):
        self._f[i] = NULL
    self._n = <int>n
    self._ready = True
    _release(old, nold)


cdef int _init_general(_Record self, tuple args, dict kwargs) except -1:
    """The constructor as the twin writes it, class attributes read on every call."""
    cls = type(self)
    cdef tuple fields = cls._fields
    cdef Py_ssize_t nargs = len(args), i, n
    cdef PyObject *vals[MAX_FIELDS]
    cdef int tid
    if self._ready:
        raise TypeError(f"{cls.__name__} objects are immutable: __init__ runs once")
    if nargs > len(fields):
        raise TypeError(f"{cls.__name__}() takes at most {len(fields)} positional arguments ({nargs} given)")
    cdef list values = list(cls._defaults)
    values[:nargs] = args
    if kwargs:
        index = cls._index
        for key, value in kwargs.items():
            j = index.get(key)
            if j is None:
                raise TypeError(f"{cls.__name__}() got an unexpected keyword argument {key!r}")
            if j < nargs:
                raise TypeError(f"{cls.__name__}() got multiple values for argument {key!r}")
            values[j] = value
    cdef tuple normal = _normalise(cls, values)
    tid = cls._type_id
    n = len(normal)
    if not _fits(Py_TYPE(self), tid, n):
        # a Python subclass that changed _type_id or _types (or one of _Record itself):
        # the values would not fit in the C array its generated base class has
        raise TypeError(f"{cls.__name__}: _type_id and _types do not fit its base class's layout")
    for i in range(n):
        v = normal[i]
        Py_INCREF(v)
        vals[i] = <PyObject *>v
    _commit(self, tid, vals, n)
    return 0


cdef int _init(_Record self, tuple args, object kwargs, bint copy_kwargs) except -1:
    """The constructor: the fast path for a leaf class, else the general one.  With
    ``copy_kwargs`` (kwargs may be a caller's own dict, from C) the general path iterates a
    copy, like a Python function's **kwargs."""
    cdef int tid = _exact_tid(Py_TYPE(self))
    if tid >= 0 and _init_fast(self, tid, args, kwargs):
        return 0
    if kwargs is None:
        kwargs = {}
    elif copy_kwargs:
        kwargs = PyDict_Copy(kwargs)
    _init_general(self, args, kwargs)
    return 0


cdef int _record_tp_init(PyObject *self, PyObject *args, PyObject *kwds) except -1:
    """tp_init of the leaf classes: ``Cls(...)`` without the **kwargs dict a ``def
    __init__`` always builds."""
    _init(<_Record>self, <tuple>args, <object>kwds if kwds != NULL else None, True)
    return 0


cdef class _Record:
    """Immutable value object.  Its attribute values live in a C array inside the object
    (``_f`` points at it; owned references, in ``_fields`` order): no per-object tuple, so
    decoding allocates only the object and the field values themselves."""

    cdef PyObject **_f
    cdef int _n
    cdef int _tid
    cdef bint _ready  # set once the fields are in place (a record may have none)

    def __init__(self, *args, **kwargs):
        # ``Cls(...)`` does not come here: the leaf classes' tp_init is _record_tp_init.
        # This runs for ``obj.__init__(...)``, ``super().__init__(...)`` and Python
        # subclasses (kwargs is a fresh dict).
        _init(self, args, kwargs, False)

    def __dealloc__(self):
        cdef int i
        if self._f != NULL:
            for i in range(self._n):
                Py_XDECREF(self._f[i])
                self._f[i] = NULL

    cdef tuple _values(self):
        cdef tuple t = PyTuple_New(self._n)
        cdef int i
        cdef object v
        for i in range(self._n):
            v = <object>self._f[i] if self._f != NULL and self._f[i] != NULL else None
            Py_INCREF(v)
            PyTuple_SET_ITEM(t, i, v)
        return t

    def __eq__(self, other):
        cdef int i
        cdef _Record o
        if type(other) is not type(self):
            return NotImplemented
        o = <_Record>other
        if o._n != self._n:
            return False
        if not self._ready or not o._ready:
            return self is o
        for i in range(self._n):
            if self._f[i] != o._f[i]:
                if self._f[i] == NULL or o._f[i] == NULL:
                    return False
                if not PyObject_RichCompareBool(<object>self._f[i], <object>o._f[i], Py_EQ):
                    return False
        return True

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self):
        return hash((type(self).__name__, self._values()))

    def __repr__(self):
        if not self._ready:
            return f"<uninitialised {type(self).__name__}>"
        parts = ", ".join([f"{a}={_repr_value(v)}" for a, v in zip(self._fields, self._values())])
        return f"{type(self).__name__}({parts})"

    def __reduce__(self):
        return (type(self), self._values())

    def replace(self, **changes):
        """A copy with some attributes changed (checked like the constructor's arguments)."""
        if not self._ready:
            raise AttributeError(f"{type(self).__name__} was not initialised")
        kwargs = dict(zip(self._fields, self._values()))
        for key in changes:
            if key not in kwargs:
                raise TypeError(f"{type(self).__name__} has no field {key!r}")
        kwargs.update(changes)
        return type(self)(**kwargs)


cdef class _Pdu(_Record):
    """A PDU: a record with a ``command_id``."""

    command_id = 0


include "_records.pxi"


# Freelists for the record types (Cython's own freelists cannot serve subclasses): decoding
# a stream allocates and frees the same few kinds of objects over and over.  Each leaf type
# gets a tp_alloc that reuses a freed object of its own type and a tp_free that keeps up to
# SMSDK_FREELIST of them.  Python subclasses get CPython's own slots and are unaffected.
cdef extern from *:
    """
    #define SMSDK_FREELIST 256
    #define SMSDK_MAX_TYPES 16
    static PyTypeObject *smsdk_types[SMSDK_MAX_TYPES];
    static PyObject *smsdk_free_objs[SMSDK_MAX_TYPES][SMSDK_FREELIST];
    static int smsdk_free_count[SMSDK_MAX_TYPES];
    static int smsdk_ntypes = 0;

    static int smsdk_type_index(PyTypeObject *t) {
        int i;
        for (i = 0; i < smsdk_ntypes; i++) if (smsdk_types[i] == t) return i;
        return -1;
    }
    static PyObject *smsdk_alloc(PyTypeObject *t, Py_ssize_t nitems) {
        int i = smsdk_type_index(t);
        if (i >= 0 && smsdk_free_count[i] > 0) {
            PyObject *o = smsdk_free_objs[i][--smsdk_free_count[i]];
            memset((void *)o, 0, (size_t)t->tp_basicsize);
            return PyObject_Init(o, t);
        }
        return PyType_GenericAlloc(t, nitems);
    }
    static void smsdk_free(void *p) {
        int i = smsdk_type_index(Py_TYPE((PyObject *)p));
        if (i >= 0 && smsdk_free_count[i] < SMSDK_FREELIST) {
            smsdk_free_objs[i][smsdk_free_count[i]++] = (PyObject *)p;
            return;
        }
        PyObject_Free(p);
    }
    static int smsdk_install_freelist(PyObject *type) {
        PyTypeObject *t = (PyTypeObject *)type;
        if (smsdk_ntypes >= SMSDK_MAX_TYPES || PyType_IS_GC(t) ||
                (t->tp_flags & Py_TPFLAGS_HEAPTYPE) || t->tp_itemsize != 0) return 0;
        smsdk_types[smsdk_ntypes++] = t;
        t->tp_alloc = smsdk_alloc;
        t->tp_free = smsdk_free;
        return 1;
    }
    """
    int smsdk_install_freelist(object type)


# The types decoded most come first (the lookup is a short linear search).
for _cls in (Deliver, StatusReport, SubmitResp, DeliverResp, ActiveTest, ActiveTestResp,
             Submit, Connect, ConnectResp, Terminate, TerminateResp, Unauthorization,
             ChangePass, ChangePassResp):
    smsdk_install_freelist(_cls)


def build_connect(source_addr, password, timestamp, dialect):
    """A ready CONNECT: authenticator computed, version of the dialect (0x10/0x20/0x30).

    ``timestamp`` is the MMDDhhmmss integer or a datetime in China time.
    """
    return Connect(**_connect_fields(source_addr, password, timestamp, dialect))


# ---------------------------------------------------------------------------------------
# Plans: the layout tables compiled into C arrays.

cdef struct Op:
    int kind
    Py_ssize_t width
    Py_ssize_t rest  # fixed bytes after a COUNT / LENGTH field
    Py_ssize_t aux   # a COUNT's entry width
    Py_ssize_t offset  # from the start of the record (ops of the fixed prefix only)
    int cache        # TEXT / DIGITS: decode through TEXT_CACHE (values that repeat)
    int index
    int optional
    PyObject *name
    PyObject *absent

cdef struct Plan:
    int present
    int nprefix  # leading ops of fixed size and position: decoded without bounds checks
    Py_ssize_t prefix_size
    int tid
    uint32_t cmd
    int nops
    Op ops[MAX_OPS]
    Py_ssize_t fixed
    int nfields
    int nabsent
    int absent_index[MAX_ABSENT]
    int absent_optint[MAX_ABSENT]
    PyObject *absent_name[MAX_ABSENT]
    PyObject *absent_default[MAX_ABSENT]
    int rd_index
    PyObject *cls
    PyObject *label
    Plan *report
    int nvar
    int var[4]  # ops whose size varies: DESTS, CONTENT, optional U32

cdef Plan PLANS[N_DIALECTS][N_RECORDS]
cdef int CMD_TID[N_DIALECTS][CMD_SLOTS]
_KEEP = []  # owns every object the plans point to
# Text fields that skip TEXT_CACHE (none at present: even mobile numbers pay, since a
# report carries its recipient twice, as Src_terminal_Id and as the report's
# Dest_terminal_Id).  SUBMIT's destination lists never use the cache.
_UNCACHED = frozenset()


cdef inline int _cmd_slot(uint32_t cmd) noexcept:
    if cmd & 0x7FFFFF00u:
        return -1
    return <int>((cmd & 0xFFu) | ((cmd >> 31) << 8))


cdef PyObject *_keep(object o) except NULL:
    _KEEP.append(o)
    return <PyObject *>o


def _compile_plans():
    cdef Plan *plan
    cdef Op *op
    cdef int d, tid, j, slot
    assert len(_L.RECORDS) == N_RECORDS
    for name, value in (("U8", K_U8), ("U32", K_U32), ("BYTES", K_BYTES), ("TEXT", K_TEXT),
                        ("DIGITS", K_DIGITS), ("COUNT", K_COUNT), ("DESTS", K_DESTS),
                        ("LENGTH", K_LENGTH), ("CONTENT", K_CONTENT),
                        ("CONTENT_OR_REPORT", K_CONTENT_OR_REPORT), ("T_INT", T_INT),
                        ("T_OPTINT", T_OPTINT), ("T_STR", T_STR), ("T_BYTES", T_BYTES),
                        ("T_STRS", T_STRS), ("T_CONTENT", T_CONTENT),
                        ("T_CONTENT_REPORT", T_CONTENT_REPORT), ("HEADER_SIZE", HEADER),
                        ("MAX_CONTENT", MAX_CONTENT)):
        assert getattr(_L, name) == value, name
    memset(PLANS, 0, sizeof(PLANS))
    for d in range(N_DIALECTS):
        for slot in range(CMD_SLOTS):
            CMD_TID[d][slot] = -1
    for dialect in Dialect:
        d = dialect
        table = _L.LAYOUTS[dialect]
        for tid, spec in enumerate(_L.RECORDS):
            if spec.name not in table:
                continue
            fields = table[spec.name]
            index = {a: i for i, a in enumerate(spec.attrs)}
            plan = &PLANS[d][tid]
            plan.present = 1
            plan.tid = tid
            plan.cmd = spec.command_id if spec.command_id is not None else 0
            assert len(fields) <= MAX_OPS
            plan.nops = len(fields)
            for j, f in enumerate(fields):
                op = &plan.ops[j]
                op.kind = f.kind
                op.width = f.width
                op.rest = _L.fixed_size(fields[j + 1 :])
                op.aux = fields[j + 1].width if f.kind == K_COUNT else 0
                op.cache = f.name not in _UNCACHED
                op.index = index[f.attr]
                op.optional = f.optional
                op.name = _keep(f.name)
                op.absent = _keep(f.absent)
            plan.fixed = _L.fixed_size(fields)
            plan.nprefix = 0
            plan.prefix_size = 0
            for f in fields:
                if f.kind not in (K_U8, K_U32, K_TEXT, K_DIGITS, K_BYTES) or f.optional:
                    break
                plan.ops[plan.nprefix].offset = plan.prefix_size
                plan.prefix_size += f.width
                plan.nprefix += 1
            plan.nvar = 0
            for j, f in enumerate(fields):
                if f.kind in (K_DESTS, K_CONTENT, K_CONTENT_OR_REPORT) or (f.optional and f.kind == K_U32):
                    assert plan.nvar < 4
                    plan.var[plan.nvar] = j
                    plan.nvar += 1
            plan.nfields = len(spec.fields)
            absent = _L.absent_fields(dialect, spec.name)
            assert len(absent) <= MAX_ABSENT
            plan.nabsent = len(absent)
            for j, (i, aname, default) in enumerate(absent):
                plan.absent_index[j] = i
                plan.absent_optint[j] = spec.types[i] == T_OPTINT
                plan.absent_name[j] = _keep(aname)
                plan.absent_default[j] = _keep(default)
            plan.rd_index = index.get(_L.REPORT_FLAG_ATTR, -1)
            plan.cls = _keep(_CLASSES[tid])
            plan.label = _keep(
                f"{dialect.name} {spec.command_id.name if spec.command_id is not None else 'status report'}"
            )
            if spec.command_id is not None:
                slot = _cmd_slot(spec.command_id)
                assert slot >= 0 and CMD_TID[d][slot] == -1
                CMD_TID[d][slot] = tid
        for tid in range(N_RECORDS):
            if PLANS[d][tid].present and PLANS[d][tid].rd_index >= 0:
                PLANS[d][tid].report = &PLANS[d][_L.REPORT_TID]


def _self_check():
    """The generated classes still match _layouts.RECORDS (fields, order, defaults)."""
    for tid, (cls, spec) in enumerate(zip(_CLASSES, _L.RECORDS)):
        assert cls.__name__ == spec.name and cls._type_id == tid, spec.name
        assert cls._fields == spec.attrs and cls._defaults == spec.defaults, spec.name
        assert (cls.command_id if spec.command_id is not None else None) == spec.command_id
        assert len(spec.attrs) <= MAX_FIELDS
        probe = cls.__new__(cls)
        marks = [object() for _ in spec.attrs]
        _bind_slots(<_Record>probe, tid)
        for i, mark in enumerate(marks):
            Py_INCREF(mark)
            (<_Record>probe)._f[i] = <PyObject *>mark
        (<_Record>probe)._n = len(marks)
        (<_Record>probe)._ready = True
        for i, attr in enumerate(spec.attrs):
            assert getattr(probe, attr) is marks[i], (spec.name, attr)


for _tid, _offset in enumerate(_slot_offsets()):
    SLOT_OFFSET[_tid] = _offset
_compile_plans()
_self_check()


def _compile_ctor_meta():
    """Fill CTOR from the classes and give the leaf classes their tp_init."""
    global STATUS_REPORT_TYPE
    cdef CtorMeta *m
    cdef int tid, i, k
    for tid, cls in enumerate(_CLASSES):
        m = &CTOR[tid]
        fields, types, defaults = cls._fields, cls._types, cls._defaults
        index = {a: j for j, a in enumerate(fields)}
        assert index == cls._index and all(type(a) is str for a in fields), cls.__name__
        assert len(types) == len(defaults) == len(fields) <= MAX_FIELDS, cls.__name__
        m.cls = <PyTypeObject *>cls
        m.index = _keep(index)
        m.fields = _keep(fields)
        m.n = len(fields)
        _keep(defaults)
        for i in range(m.n):
            assert T_INT <= types[i] <= T_CONTENT_REPORT, (cls.__name__, i)
            m.types[i] = types[i]
            m.defaults[i] = <PyObject *>defaults[i]
    order = (Deliver, StatusReport, SubmitResp, Submit, DeliverResp, ActiveTest, ActiveTestResp,
             Connect, ConnectResp, Terminate, TerminateResp, Unauthorization, ChangePass,
             ChangePassResp)
    assert sorted(c._type_id for c in order) == list(range(N_RECORDS))
    for k, cls in enumerate(order):
        CTOR_ORDER[k] = cls._type_id
    STATUS_REPORT_TYPE = <PyTypeObject *>StatusReport
    for cls in _CLASSES:
        smsdk_set_tp_init(cls, <void *>_record_tp_init)


_compile_ctor_meta()


cdef object _EMPP = Dialect.EMPP
cdef object _CMPP2 = Dialect.CMPP2
cdef object _CMPP3 = Dialect.CMPP3


cdef int _dialect(object dialect) except -1:
    cdef int overflow = 0
    cdef long long x
    if dialect is _EMPP:  # the usual case: a Dialect member
        return 1
    if dialect is _CMPP3:
        return 3
    if dialect is _CMPP2:
        return 2
    if not isinstance(dialect, int):
        raise TypeError(f"dialect must be a Dialect, not {type(dialect).__name__}")
    x = PyLong_AsLongLongAndOverflow(dialect, &overflow)
    if overflow or x < 1 or x >= N_DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}")
    return <int>x


# ---------------------------------------------------------------------------------------
# Encoding


cdef inline void _w32(unsigned char *p, uint32_t v) noexcept nogil:
    p[0] = <unsigned char>(v >> 24)
    p[1] = <unsigned char>(v >> 16)
    p[2] = <unsigned char>(v >> 8)
    p[3] = <unsigned char>v


cdef inline uint32_t _r32(const unsigned char *p) noexcept nogil:
    return (<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16) | (<uint32_t>p[2] << 8) | <uint32_t>p[3]


cdef object _range_error(object name, object v, long long top):
    return FieldValueError(f"{name} = {v} is outside 0..{top}", field=name)


cdef extern from "Python.h":
    # Borrowed-pointer spellings of a few macros: the encoder reads the record's values
    # through PyObject* without touching reference counts.
    Py_ssize_t P_UNICODE_LEN "PyUnicode_GET_LENGTH"(PyObject *o)
    unsigned int P_UNICODE_KIND "PyUnicode_KIND"(PyObject *o)
    void *P_UNICODE_DATA "PyUnicode_DATA"(PyObject *o)
    Py_ssize_t P_BYTES_LEN "PyBytes_GET_SIZE"(PyObject *o)
    char *P_BYTES_DATA "PyBytes_AS_STRING"(PyObject *o)
    bint P_BYTES_CHECK "PyBytes_CheckExact"(PyObject *o)
    Py_ssize_t P_TUPLE_LEN "PyTuple_GET_SIZE"(PyObject *o)
    PyObject *P_TUPLE_ITEM "PyTuple_GET_ITEM"(PyObject *o, Py_ssize_t i)
    long long P_AS_LONGLONG "PyLong_AsLongLongAndOverflow"(PyObject *o, int *overflow)
    # new references (NULL with an exception set on failure)
    PyObject *P_BYTES_NEW "PyBytes_FromStringAndSize"(const char *s, Py_ssize_t n)
    PyObject *P_UNICODE_NEW "PyUnicode_New"(Py_ssize_t size, unsigned int maxchar)
    PyObject *P_ULONG_NEW "PyLong_FromUnsignedLong"(unsigned long v)
    void P_TUPLE_SET "PyTuple_SET_ITEM"(PyObject *t, Py_ssize_t i, PyObject *v)  # steals v


cdef PyObject *EMPTY_STR = <PyObject *>""


cdef extern from "Python.h":
    void PyObject_GC_UnTrack(object o)


cdef extern from *:
    """
    /* The value of an exact int that fits one internal digit (0 .. 2**30-1): the common
       case of every integer field, read without a call.  Anything else: return 0. */
    static int smsdk_small_int(PyObject *v, long long *out) {
    #if PY_VERSION_HEX >= 0x030C0000
        if (PyUnstable_Long_IsCompact((PyLongObject *)v)) {
            *out = (long long)PyUnstable_Long_CompactValue((PyLongObject *)v);
            return 1;
        }
        return 0;
    #else
        Py_ssize_t size = Py_SIZE(v);
        if (size == 0) { *out = 0; return 1; }
        if (size == 1) { *out = (long long)((PyLongObject *)v)->ob_digit[0]; return 1; }
        return 0;
    #endif
    }
    """
    int smsdk_small_int(PyObject *v, long long *out) noexcept


cdef inline int _put_int(unsigned char *p, PyObject *v, Py_ssize_t width, PyObject *name) except -1:
    cdef int overflow = 0
    cdef long long x
    if not smsdk_small_int(v, &x):
        x = P_AS_LONGLONG(v, &overflow)
    cdef long long top = 0xFF if width == 1 else 0xFFFFFFFF
    if overflow or x < 0 or x > top:
        raise _range_error(<object>name, <object>v, top)
    if width == 1:
        p[0] = <unsigned char>x
    else:
        _w32(p, <uint32_t>x)
    return 0


cdef int _text_error(PyObject *v, Py_ssize_t width, PyObject *name, bint digits) except -1:
    cdef object s = <object>v
    if P_UNICODE_KIND(v) != PyUnicode_1BYTE_KIND:
        raise FieldValueError(f"{<object>name} is not latin-1 text: {s!r}", field=<object>name)
    if len(s) > width:
        raise FieldValueError(
            f"{<object>name} is {len(s)} characters; the field holds {width}", field=<object>name
        )
    if digits:
        raise FieldValueError(f"{<object>name} must be ASCII digits, got {s!r}", field=<object>name)
    raise FieldValueError(f"{<object>name} contains a NUL character: {s!r}", field=<object>name)


cdef inline int _put_text(unsigned char *p, PyObject *v, Py_ssize_t width, PyObject *name, bint digits) except -1:
    """Copy a str into a 0x00-filled field (the whole packet was zeroed first)."""
    cdef Py_ssize_t n = P_UNICODE_LEN(v), i
    cdef const unsigned char *s
    cdef unsigned char c
    cdef uint64_t w
    if P_UNICODE_KIND(v) != PyUnicode_1BYTE_KIND or n > width:
        return _text_error(v, width, name, digits)
    s = <const unsigned char *>P_UNICODE_DATA(v)
    # check and copy in one pass, eight bytes at a time, then the tail byte by byte
    i = 0
    while i + 8 <= n:
        memcpy(&w, s + i, 8)
        if digits:
            # every byte 0x30..0x39: high nibble 3, low nibble + 6 without a carry
            if (w & 0xF0F0F0F0F0F0F0F0ULL) != 0x3030303030303030ULL or \
                    ((w & 0x0F0F0F0F0F0F0F0FULL) + 0x0606060606060606ULL) & 0x1010101010101010ULL:
                return _text_error(v, width, name, digits)
        elif (w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL:  # a 0x00 byte
            return _text_error(v, width, name, digits)
        memcpy(p + i, &w, 8)
        i += 8
    s += i
    p += i
    n -= i
    if digits:
        for i in range(n):
            c = s[i]
            if <unsigned char>(c - 48) > 9:
                return _text_error(v, width, name, digits)
            p[i] = c
    else:
        for i in range(n):
            c = s[i]
            if c == 0:
                return _text_error(v, width, name, digits)
            p[i] = c
    return 0


cdef Py_ssize_t _write(Plan *plan, PyObject **values, unsigned char *base, Py_ssize_t pos) except -1:
    """Write a record's fields at ``base + pos`` (already zeroed); return the position after."""
    cdef int j, kind
    cdef Op *op
    cdef Py_ssize_t n, k, width
    cdef PyObject *v
    cdef PyObject *entry
    cdef object rd
    for j in range(plan.nops):
        op = &plan.ops[j]
        kind = op.kind
        width = op.width
        v = values[op.index]
        if kind == K_U8:
            _put_int(base + pos, v, 1, op.name)
        elif kind == K_TEXT:
            _put_text(base + pos, v, width, op.name, False)
        elif kind == K_DIGITS:
            _put_text(base + pos, v, width, op.name, True)
        elif kind == K_U32:
            if v == <PyObject *>None:  # an optional trailing field left out (EMPP Ability)
                continue
            _put_int(base + pos, v, 4, op.name)
        elif kind == K_BYTES:
            n = P_BYTES_LEN(v)
            if n == width:
                memcpy(base + pos, P_BYTES_DATA(v), width)
            elif n != 0:
                raise FieldValueError(
                    f"{<object>op.name} must be {width} bytes (or empty for zeros), got {n}",
                    field=<object>op.name,
                )
        elif kind == K_COUNT:
            n = P_TUPLE_LEN(v)
            if width == 1:
                if n > 0xFF:
                    raise _range_error(<object>op.name, n, 0xFF)
                base[pos] = <unsigned char>n
            else:
                if n > <Py_ssize_t>MAX_U32:
                    raise _range_error(<object>op.name, n, MAX_U32)
                _w32(base + pos, <uint32_t>n)
        elif kind == K_DESTS:
            for k in range(P_TUPLE_LEN(v)):
                entry = P_TUPLE_ITEM(v, k)
                if P_UNICODE_LEN(entry) == 0:
                    raise FieldValueError(f"{<object>op.name}[{k}] is empty", field=<object>op.name)
                _put_text(base + pos, entry, width, op.name, True)
                pos += width
            continue
        elif kind == K_LENGTH:
            if P_BYTES_CHECK(v):
                n = P_BYTES_LEN(v)
                if n > MAX_CONTENT:
                    raise FieldValueError(
                        f"Msg_Content is {n} bytes; Msg_Length holds at most {MAX_CONTENT}",
                        field="Msg_Content",
                    )
                base[pos] = <unsigned char>n
            else:
                base[pos] = <unsigned char>plan.report.fixed
        elif kind == K_CONTENT:
            n = P_BYTES_LEN(v)
            memcpy(base + pos, P_BYTES_DATA(v), n)
            pos += n
            continue
        else:  # K_CONTENT_OR_REPORT
            rd = <object>values[plan.rd_index]
            if P_BYTES_CHECK(v):
                if rd == 1:
                    raise FieldValueError(
                        "Registered_Delivery is 1 but Msg_Content is not a StatusReport",
                        field="Msg_Content",
                    )
                n = P_BYTES_LEN(v)
                memcpy(base + pos, P_BYTES_DATA(v), n)
                pos += n
            else:
                if rd != 1:
                    raise FieldValueError(
                        f"Msg_Content is a StatusReport but Registered_Delivery is {rd}",
                        field="Registered_Delivery",
                    )
                pos = _write(plan.report, (<_Record>v)._f, base, pos)
            continue
        pos += width
    return pos


def encode(pdu, sequence_id, dialect):
    """The packet (header and body) of ``pdu`` in ``dialect``.

    Raises FieldValueError (``field`` = the spec name) for a value the wire cannot carry,
    UnknownCommandError for a PDU the dialect does not have.
    """
    cdef int d = _dialect(dialect)
    cdef _Record rec
    cdef Plan *plan
    cdef int j, overflow = 0, kind
    cdef long long seq
    cdef Py_ssize_t size
    cdef PyObject **values
    cdef PyObject *v
    cdef bytes out
    cdef unsigned char *p
    if not isinstance(pdu, _Pdu):
        raise TypeError(f"encode needs a PDU, not {type(pdu).__name__}")
    rec = <_Record>pdu
    if not rec._ready:
        raise TypeError(f"{type(pdu).__name__} was not initialised")
    values = rec._f
    plan = &PLANS[d][rec._tid]
    if not plan.present:
        cmd = type(pdu).command_id
        raise UnknownCommandError(
            f"{Dialect(d).name} has no {command_name(cmd)} (Command_Id 0x{cmd:08X})", command_id=cmd
        )
    if type(sequence_id) is not int:
        if not isinstance(sequence_id, int):
            raise TypeError(f"sequence_id must be int, not {type(sequence_id).__name__}")
        sequence_id = int(sequence_id)
    seq = PyLong_AsLongLongAndOverflow(sequence_id, &overflow)
    if overflow or seq < 0 or seq > <long long>MAX_U32:
        raise _range_error("Sequence_Id", sequence_id, MAX_U32)
    for j in range(plan.nabsent):
        v = values[plan.absent_index[j]]
        if v != plan.absent_default[j] and not (v == <PyObject *>None and plan.absent_optint[j]) \
                and <object>v != <object>plan.absent_default[j]:
            raise FieldValueError(
                f"{<object>plan.absent_name[j]} = {<object>v!r} cannot be carried by "
                f"{<object>plan.label} (it must stay {<object>plan.absent_default[j]!r})",
                field=<object>plan.absent_name[j],
            )
    size = HEADER + plan.fixed
    for j in range(plan.nvar):
        kind = plan.ops[plan.var[j]].kind
        v = values[plan.ops[plan.var[j]].index]
        if kind == K_DESTS:
            size += plan.ops[plan.var[j]].width * P_TUPLE_LEN(v)
        elif kind == K_U32:
            if v == <PyObject *>None:
                size -= 4
        else:
            size += P_BYTES_LEN(v) if P_BYTES_CHECK(v) else plan.report.fixed
    if size > <Py_ssize_t>MAX_U32:
        raise FieldValueError(f"the packet would be {size} bytes", field="Total_Length")
    out = PyBytes_FromStringAndSize(NULL, size)
    p = <unsigned char *>PyBytes_AS_STRING(out)
    memset(p, 0, size)
    _w32(p, <uint32_t>size)
    _w32(p + 4, plan.cmd)
    _w32(p + 8, <uint32_t>seq)
    _write(plan, values, p, HEADER)
    return out


# ---------------------------------------------------------------------------------------
# Decoding


# A small direct-mapped cache of decoded text: Stat values, times, service ids and the
# enterprise's own numbers repeat from one PDU to the next, so most text fields of a stream
# of reports decode without allocating.  Strings are immutable: sharing them is safe.
cdef enum:
    TEXT_CACHE_SIZE = 1024  # indexed by the top 10 bits of a 64-bit hash

cdef PyObject *TEXT_CACHE[TEXT_CACHE_SIZE]
memset(TEXT_CACHE, 0, sizeof(TEXT_CACHE))


cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define smsdk_ctz64(x) __builtin_ctzll(x)
    #else
    static int smsdk_ctz64(unsigned long long x) { int n = 0; while (!(x & 1)) { x >>= 1; n++; } return n; }
    #endif
    """
    int smsdk_ctz64(uint64_t x) nogil


cdef inline Py_ssize_t _text_len(const unsigned char *p, Py_ssize_t width) noexcept nogil:
    """Bytes before the first 0x00 (or width): eight bytes at a time."""
    cdef Py_ssize_t n = 0
    cdef uint64_t w, z
    while n + 8 <= width:
        memcpy(&w, p + n, 8)
        z = (w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL
        if z:
            return n + (smsdk_ctz64(z) >> 3)  # little-endian: the lowest flagged byte
        n += 8
    while n < width and p[n] != 0:
        n += 1
    return n


cdef inline uint64_t _load_short(const unsigned char *p, Py_ssize_t n) noexcept nogil:
    """Bytes p[0:n] (n < 8) as a little-endian integer, reading nothing past them."""
    cdef uint64_t x = 0
    cdef Py_ssize_t i
    for i in range(n):
        x |= (<uint64_t>p[i]) << (8 * i)
    return x


cdef PyObject *_new_latin1(const unsigned char *p, Py_ssize_t n) except NULL:
    """A new str of n latin-1 bytes (compact ASCII when it can be), like
    PyUnicode_DecodeLatin1 without its generic overhead."""
    cdef uint64_t acc = 0, w
    cdef Py_ssize_t i = 0
    cdef PyObject *s
    while i + 8 <= n:
        memcpy(&w, p + i, 8)
        acc |= w
        i += 8
    while i < n:
        acc |= p[i]
        i += 1
    s = P_UNICODE_NEW(n, 0xFF if acc & 0x8080808080808080ULL else 0x7F)
    if s == NULL:
        return NULL
    memcpy(P_UNICODE_DATA(s), p, n)
    return s


cdef PyObject *_get_text(const unsigned char *p, Py_ssize_t width, bint cache) except NULL:
    """A new reference to the text of an Octet String (cut at the first 0x00).  With
    ``cache``, values that repeat (Stat, times, service ids, the enterprise's own numbers)
    come from TEXT_CACHE instead of a new allocation."""
    cdef Py_ssize_t n = _text_len(p, width)
    cdef uint64_t a = 0, b = 0, ca = 0, cb = 0
    cdef size_t h
    cdef PyObject *cached
    cdef PyObject *s
    cdef const unsigned char *cd
    if n == 0:
        Py_INCREF(<object>EMPTY_STR)
        return EMPTY_STR
    if not cache:
        return _new_latin1(p, n)
    if n >= 8:
        memcpy(&a, p, 8)
        memcpy(&b, p + n - 8, 8)
    else:
        a = _load_short(p, n)
    # multiplicative hashing: the top bits of the product depend on every input byte
    h = <size_t>((((a ^ <uint64_t>n) * 0x9E3779B97F4A7C15ULL) + b * 0xC2B2AE3D27D4EB4FULL) >> 54)
    cached = TEXT_CACHE[h]
    if cached != NULL and P_UNICODE_LEN(cached) == n:
        cd = <const unsigned char *>P_UNICODE_DATA(cached)
        if n >= 8:
            memcpy(&ca, cd, 8)
            memcpy(&cb, cd + n - 8, 8)
        else:
            ca = _load_short(cd, n)
        # equal first and last 8 bytes settle it up to 16 bytes; longer ones compare fully
        if ca == a and cb == b and (n <= 16 or memcmp(cd + 8, p + 8, n - 16) == 0):
            Py_INCREF(<object>cached)
            return cached
    s = _new_latin1(p, n)
    Py_INCREF(<object>s)  # one reference for the cache, one for the caller
    TEXT_CACHE[h] = s
    Py_XDECREF(cached)
    return s


# The ints 0..255 (every uint8 field), as borrowed pointers to CPython's cached objects.
cdef PyObject *SMALL_INTS[256]
_SMALL_INTS = [int(i) for i in range(256)]
for _i in range(256):
    SMALL_INTS[_i] = <PyObject *>_SMALL_INTS[_i]


cdef inline void _put(_Record obj, int i, object v) noexcept:
    Py_INCREF(v)
    obj._f[i] = <PyObject *>v


cdef inline int _steal(_Record obj, int i, PyObject *v) except -1:
    """Store a new reference (NULL: the exception of the call that made it)."""
    if v == NULL:
        return -1
    obj._f[i] = v
    return 0


cdef object _short(object label, object last_name, Py_ssize_t last_value, PyObject *name,
                   Py_ssize_t width, Py_ssize_t offset, Py_ssize_t size):
    if last_name is not None:
        return LengthMismatchError(
            f"{label}: {last_name} = {last_value} disagrees with the {size}-byte body",
            field=last_name,
        )
    return TruncatedError(
        f"{label}: the {size}-byte body ends inside {<object>name} "
        f"(bytes {offset}..{offset + width - 1})",
        field=<object>name,
    )


cdef object _read(Plan *plan, const unsigned char *data, Py_ssize_t pos, Py_ssize_t end, object label):
    """Decode a record's fields from ``data[pos:end]`` (which they must fill exactly)."""
    cdef Py_ssize_t start = pos, count = 0, length = 0, need, k, width, last_value = 0
    cdef int j, kind
    cdef Op *op
    cdef object last_name = None
    cdef tuple dests
    cdef _Record obj = <_Record>smsdk_tp_new(<object>plan.cls, _EMPTY)
    _bind_slots(obj, plan.tid)
    obj._n = plan.nfields  # unset slots stay NULL until filled; dealloc uses XDECREF
    obj._ready = True
    for j in range(plan.nabsent):
        _put(obj, plan.absent_index[j], <object>plan.absent_default[j])
    j = 0
    if end - pos >= plan.prefix_size:
        # fast path: the fixed leading fields are all there; no bounds checks needed
        while j < plan.nprefix:
            op = &plan.ops[j]
            kind = op.kind
            if kind == K_U8:
                _put(obj, op.index, <object>SMALL_INTS[data[pos + op.offset]])
            elif kind == K_TEXT or kind == K_DIGITS:
                _steal(obj, op.index, _get_text(data + pos + op.offset, op.width, op.cache))
            elif kind == K_BYTES:
                _steal(obj, op.index, P_BYTES_NEW(<const char *>data + pos + op.offset, op.width))
            else:  # K_U32
                _steal(obj, op.index, P_ULONG_NEW(_r32(data + pos + op.offset)))
            j += 1
        pos += plan.prefix_size
    while j < plan.nops:
        op = &plan.ops[j]
        j += 1
        kind = op.kind
        width = op.width
        if kind == K_DESTS:
            need = width * count
            if end - pos < need:
                raise _short(label, last_name, last_value, op.name, need, pos - start, end - start)
            dests = PyTuple_New(count)
            for k in range(count):
                P_TUPLE_SET(<PyObject *>dests, k, _get_text(data + pos + k * width, width, False))
            _put(obj, op.index, dests)
            pos += need
            continue
        if kind == K_CONTENT or kind == K_CONTENT_OR_REPORT:
            if end - pos < length:
                raise _short(label, last_name, last_value, op.name, length, pos - start, end - start)
            if kind == K_CONTENT_OR_REPORT and <object>obj._f[plan.rd_index] == 1:
                if length != plan.report.fixed:
                    raise LengthMismatchError(
                        f"{label}: a status report is {plan.report.fixed} bytes, Msg_Length is {length}",
                        field="Msg_Content",
                    )
                _put(obj, op.index, _read(plan.report, data, pos, pos + length, label))
            else:
                _steal(obj, op.index, P_BYTES_NEW(<const char *>data + pos, length))
            pos += length
            continue
        if end - pos < width:
            if op.optional and pos == end:
                _put(obj, op.index, <object>op.absent)
                continue
            raise _short(label, last_name, last_value, op.name, width, pos - start, end - start)
        if kind == K_U8:
            _put(obj, op.index, <object>SMALL_INTS[data[pos]])
        elif kind == K_U32:
            _steal(obj, op.index, P_ULONG_NEW(_r32(data + pos)))
        elif kind == K_TEXT or kind == K_DIGITS:
            _steal(obj, op.index, _get_text(data + pos, width, op.cache))
        elif kind == K_BYTES:
            _steal(obj, op.index, P_BYTES_NEW(<const char *>data + pos, width))
        elif kind == K_COUNT:
            count = data[pos] if width == 1 else <Py_ssize_t>_r32(data + pos)
            last_name = <object>op.name
            last_value = count
            # the numbers and every fixed field after them must fit (content may be empty)
            if end - pos - width < count * op.aux + op.rest:
                raise _short(label, last_name, last_value, op.name, 0, 0, end - start)
        else:  # K_LENGTH
            length = data[pos]
            last_name = <object>op.name
            last_value = length
            if end - pos - width != length + op.rest:
                raise _short(label, last_name, last_value, op.name, 0, 0, end - start)
        pos += width
    if pos != end:
        raise LengthMismatchError(
            f"{label}: {end - pos} bytes after the last field of the {end - start}-byte body",
            field=last_name or "Total_Length",
        )
    return obj


cdef tuple _decode_frame(int d, const unsigned char *p, Py_ssize_t n):
    """(sequence_id, pdu) of one whole packet whose Total_Length has been checked."""
    cdef uint32_t cmd = _r32(p + 4)
    cdef uint32_t seq = _r32(p + 8)
    cdef int slot = _cmd_slot(cmd)
    cdef int tid = CMD_TID[d][slot] if slot >= 0 else -1
    cdef Plan *plan
    if tid < 0:
        e = UnknownCommandError(f"{Dialect(d).name}: unknown Command_Id 0x{cmd:08X}", command_id=cmd)
        e.sequence_id = seq
        raise e
    plan = &PLANS[d][tid]
    try:
        pdu = _read(plan, p, HEADER, n, <object>plan.label)
    except ProtocolError as e:
        e.sequence_id = seq
        e.command_id = cmd
        raise
    result = (PyLong_FromUnsignedLong(seq), pdu)
    # An int and a record (records hold no references the cycle collector could need):
    # the tuple can never be part of a cycle, so keep it out of the collector's lists.
    PyObject_GC_UnTrack(result)
    return result


def decode(packet, dialect):
    """``(sequence_id, pdu)`` of one whole packet (bytes, bytearray or memoryview).

    Raises FrameLengthError when Total_Length is not the packet's size,
    UnknownCommandError, TruncatedError or LengthMismatchError for a bad body.
    """
    cdef int d = _dialect(dialect)
    cdef Py_buffer view
    cdef const unsigned char *p
    cdef Py_ssize_t n
    cdef uint32_t total
    if PyBytes_CheckExact(packet):
        return _decode_packet(d, <const unsigned char *>PyBytes_AS_STRING(packet), PyBytes_GET_SIZE(packet))
    packet = _buffer_source(packet)
    PyObject_GetBuffer(packet, &view, PyBUF_SIMPLE)
    try:
        return _decode_packet(d, <const unsigned char *>view.buf, view.len)
    finally:
        PyBuffer_Release(&view)


cdef object _buffer_source(object chunk):
    if isinstance(chunk, (bytes, bytearray)):
        return chunk
    if isinstance(chunk, memoryview):
        return chunk if chunk.c_contiguous else chunk.tobytes()
    raise TypeError(f"expected bytes, bytearray or memoryview, not {type(chunk).__name__}")


cdef tuple _decode_packet(int d, const unsigned char *p, Py_ssize_t n):
    cdef uint32_t total
    if n < HEADER:
        raise FrameLengthError(
            f"a packet of {n} bytes is shorter than the {HEADER}-byte header", field="Total_Length"
        )
    total = _r32(p)
    if total != n:
        e = FrameLengthError(f"Total_Length {total} but the packet is {n} bytes", field="Total_Length")
        e.sequence_id = _r32(p + 8)
        e.command_id = _r32(p + 4)
        raise e
    return _decode_frame(d, p, n)


# Above this many bytes a decoder's buffer shrinks back to what it holds once a feed is done
# (a 44 MB read must not pin 44 MB for the rest of the connection).
cdef enum:
    _KEEP_CAPACITY = 65536


cdef class FrameDecoder:
    """Split a byte stream into PDUs: ``feed(chunk) -> [(sequence_id, pdu), ...]``.

    Any chunking works.  Total_Length under 12 or over ``max_length`` is refused as soon as
    its 4 bytes arrive (FrameLengthError) and poisons the decoder: framing is lost, every
    later ``feed`` raises FrameLengthError.  A bad body (unknown command, truncated, length
    mismatch) consumes its frame only: call ``feed(b"")`` to go on with the buffered rest.
    Errors raised by ``feed`` carry ``.pdus``, the PDUs decoded before them in that call.
    """

    cdef int _dialect
    cdef Py_ssize_t _max
    cdef unsigned char *_buf
    cdef Py_ssize_t _start, _end, _cap
    cdef bint _poisoned
    cdef object _err

    def __cinit__(self):
        self._buf = NULL
        self._start = self._end = self._cap = 0

    def __init__(self, dialect, max_length=DEFAULT_MAX_LENGTH):
        self._dialect = _dialect(dialect)
        if not isinstance(max_length, int):
            raise TypeError(f"max_length must be int, not {type(max_length).__name__}")
        if not HEADER <= max_length <= MAX_U32:
            raise ValueError(f"max_length must be in {HEADER}..{MAX_U32}, got {max_length}")
        self._max = max_length
        self._poisoned = False
        self._err = None
        self._start = self._end = 0  # (re)initialised: nothing buffered

    def __dealloc__(self):
        free(self._buf)

    @property
    def dialect(self):
        return Dialect(self._dialect)

    @property
    def max_length(self):
        return self._max

    @property
    def buffered(self):
        """Number of bytes received but not yet decoded (an incomplete frame)."""
        return self._end - self._start

    cdef int _append(self, const unsigned char *p, Py_ssize_t n) except -1:
        cdef Py_ssize_t live = self._end - self._start
        if n <= 0:
            return 0
        if self._cap - self._end < n:
            if self._cap - live >= n and live <= self._start:
                memcpy(self._buf, self._buf + self._start, live)
            elif self._cap - live >= n:
                memmove(self._buf, self._buf + self._start, live)
            else:
                self._reallocate(max(2 * self._cap, live + n, 1024))
            self._start = 0
            self._end = live
        memcpy(self._buf + self._end, p, n)
        self._end += n
        return 0

    cdef int _compact(self) except -1:
        """After a big chunk: give the memory back once at most a quarter of it is in use
        (what stays buffered is one incomplete frame, at most max_length bytes)."""
        cdef Py_ssize_t live = self._end - self._start
        if live == 0:
            free(self._buf)
            self._buf = NULL
            self._start = self._end = self._cap = 0
            return 0
        if live <= self._cap // 4:
            self._reallocate(max(2 * live, 1024))
        return 0

    cdef int _reallocate(self, Py_ssize_t cap) except -1:
        """Move what is buffered to the start of a new buffer of ``cap`` bytes."""
        cdef Py_ssize_t live = self._end - self._start
        cdef unsigned char *buf = <unsigned char *>malloc(cap)
        if buf == NULL:
            raise MemoryError()
        if live:
            memcpy(buf, self._buf + self._start, live)
        free(self._buf)
        self._buf = buf
        self._cap = cap
        self._start = 0
        self._end = live
        return 0

    def __sizeof__(self):
        """The object plus its buffer's allocation (``sys.getsizeof`` reads this)."""
        return object.__sizeof__(self) + self._cap

    cdef Py_ssize_t _parse(self, const unsigned char *p, Py_ssize_t n, list out) except -1:
        """Decode every whole frame of p[:n] into out; return the bytes consumed.  A protocol
        error is left in self._err (its frame consumed unless it is a Total_Length error)."""
        cdef Py_ssize_t pos = 0
        cdef uint32_t total
        while n - pos >= 4:
            total = _r32(p + pos)
            if total < HEADER or total > self._max:
                self._poisoned = True
                err = FrameLengthError(
                    f"Total_Length {total} is outside {HEADER}..{self._max}", field="Total_Length"
                )
                if n - pos >= HEADER:
                    err.command_id = _r32(p + pos + 4)
                    err.sequence_id = _r32(p + pos + 8)
                self._err = err
                break
            if n - pos < total:
                break
            try:
                item = _decode_frame(self._dialect, p + pos, total)
            except ProtocolError as e:
                pos += total
                self._err = e
                break
            pos += total
            out.append(item)
        return pos

    def feed(self, chunk):
        """Decode every whole PDU now available: ``[(sequence_id, pdu), ...]``."""
        cdef Py_buffer view
        cdef const unsigned char *p
        cdef Py_ssize_t n, consumed
        cdef list out = []
        cdef bint have_view = False
        if self._poisoned:
            raise FrameLengthError(
                "the stream's framing was lost at an invalid Total_Length; open a new connection",
                field="Total_Length",
            )
        if PyBytes_CheckExact(chunk):
            p = <const unsigned char *>PyBytes_AS_STRING(chunk)
            n = PyBytes_GET_SIZE(chunk)
        else:
            chunk = _buffer_source(chunk)
            PyObject_GetBuffer(chunk, &view, PyBUF_SIMPLE)
            have_view = True
            p = <const unsigned char *>view.buf
            n = view.len
        try:
            if self._start == self._end:
                self._start = self._end = 0
                consumed = self._parse(p, n, out)
                self._append(p + consumed, n - consumed)
            else:
                self._append(p, n)
                consumed = self._parse(self._buf + self._start, self._end - self._start, out)
                self._start += consumed
        finally:
            if have_view:
                PyBuffer_Release(&view)
        if self._cap > _KEEP_CAPACITY:
            self._compact()
        if self._err is not None:
            err = self._err
            self._err = None
            err.pdus = out
            raise err
        return out
