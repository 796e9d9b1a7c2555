/* aiokoa._speedups: the steps every request takes through aiokoa's core, in C.
 *
 * Making a context (`ContextFactory`, for `Context.__init__`), the cascade's `next()`
 * (`Chain`, for compose's generated steps) and one call of an app (`Server`, for
 * `application.handle`). Each is the twin of pure-Python code that stays the reference: the
 * test suite runs both. The C twins of the router walk, of `respond()` and of the start
 * message were each worth less than 10% over the network, and went (benchmarks/RESULTS.md).
 *
 * The context stays the Python class with `__slots__`: C reaches its fields through the
 * offsets its member descriptors declare, read once by `bind()`, so the fields and their
 * first values are declared once, in Python.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

/* A field a new context starts with: its first value, or NULL for an empty dict of its own. */
typedef struct {
    Py_ssize_t offset;
    PyObject *value;
} Field;

typedef struct {
    PyTypeObject *factory_type, *chain_type, *run_type, *next_type, *server_type, *serve_type;
    PyTypeObject *context; /* the bound Context class; NULL until bind() */
    Field *fields;         /* what Context.__init__ sets, but for the four below */
    Py_ssize_t field_count;
    Py_ssize_t app, scope, receive, send, pending, pending_by, finished; /* offsets */
    PyObject *s_type, *s_http, *s_other, *s_compose, *s_pending, *s_pending_by, *s_finished, *s_throw, *s_close;
} State;

#define SLOT(obj, offset) (*(PyObject **)((char *)(obj) + (offset)))

static State *
module_state(PyObject *module)
{
    return (State *)PyModule_GetState(module);
}

static int
is_context(State *st, PyObject *ctx)
{
    return st->context != NULL && PyObject_TypeCheck(ctx, st->context);
}

/* The offset of `type.<name>`, a `__slots__` field holding any object. */
static int
slot_offset(PyTypeObject *type, PyObject *name, Py_ssize_t *offset)
{
    PyObject *descr = PyObject_GetAttr((PyObject *)type, name);
    int ok = descr != NULL && Py_IS_TYPE(descr, &PyMemberDescr_Type) &&
             ((PyMemberDescrObject *)descr)->d_member->type == T_OBJECT_EX;
    if (ok) {
        *offset = ((PyMemberDescrObject *)descr)->d_member->offset;
    }
    else {
        PyErr_Format(PyExc_TypeError, "%R is not a __slots__ field of %s", name, type->tp_name);
    }
    Py_XDECREF(descr);
    return ok ? 0 : -1;
}

static int
named_offset(PyTypeObject *type, const char *name, Py_ssize_t *offset)
{
    PyObject *key = PyUnicode_InternFromString(name);
    int result = key == NULL ? -1 : slot_offset(type, key, offset); /* GCOVR_EXCL_BR_LINE: a failed allocation */
    Py_XDECREF(key);
    return result;
}

/* The types here take no keyword arguments. */
static int
no_keywords(PyTypeObject *type, PyObject *kwargs)
{
    if (kwargs != NULL && PyDict_GET_SIZE(kwargs) != 0) {
        PyErr_Format(PyExc_TypeError, "%s() takes no keyword arguments", type->tp_name);
        return 0;
    }
    return 1;
}

static void
clear_fields(State *st)
{
    for (Py_ssize_t i = 0; i < st->field_count; i++) {
        Py_CLEAR(st->fields[i].value);
    }
    PyMem_Free(st->fields);
    st->fields = NULL;
    st->field_count = 0;
}

/* bind(Context, prototype): the offsets C reads, and each field's first value, taken from a
 * context made by the real `Context.__init__`. Once: contexts already made have this layout. */
static PyObject *
bind(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    State *st = module_state(module);
    if (nargs != 2 || !PyType_Check(args[0]) || !PyObject_TypeCheck(args[1], (PyTypeObject *)args[0])) {
        PyErr_SetString(PyExc_TypeError, "bind(Context, prototype)");
        return NULL;
    }
    if (st->context != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "bind() runs once");
        return NULL;
    }
    PyTypeObject *type = (PyTypeObject *)args[0];
    const char *named[] = {"app", "scope", "receive", "_send", "_pending", "_pending_by", "_finished"};
    Py_ssize_t *offsets[] = {&st->app, &st->scope, &st->receive, &st->send, &st->pending, &st->pending_by, &st->finished};
    for (int i = 0; i < 7; i++) {
        if (named_offset(type, named[i], offsets[i]) < 0) {
            return NULL;
        }
    }
    PyObject *slots = PyObject_GetAttrString(args[0], "__slots__");
    PyObject *names = slots == NULL ? NULL : PySequence_Tuple(slots);
    Py_XDECREF(slots);
    if (names == NULL) {
        return NULL;
    }
    Py_ssize_t count = PyTuple_GET_SIZE(names);
    st->fields = PyMem_Calloc(count, sizeof(Field)); /* a pointer of its own even for none */
    if (st->fields == NULL) { /* GCOVR_EXCL_START: only a failed allocation gets here */
        Py_DECREF(names);
        return PyErr_NoMemory();
    } /* GCOVR_EXCL_STOP */
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *name = PyTuple_GET_ITEM(names, i);
        Py_ssize_t offset;
        if (slot_offset(type, name, &offset) < 0) {
            goto error;
        }
        PyObject *value = SLOT(args[1], offset);
        if (value == NULL || offset == st->app || offset == st->scope || offset == st->receive || offset == st->send) {
            continue; /* left unset, or set per request */
        }
        if (PyDict_CheckExact(value) && PyDict_GET_SIZE(value) != 0) {
            PyErr_Format(PyExc_TypeError, "field %R starts as a non-empty dict", name);
            goto error;
        }
        Field *field = &st->fields[st->field_count++];
        field->offset = offset;
        field->value = PyDict_CheckExact(value) ? NULL : Py_NewRef(value);
    }
    Py_DECREF(names);
    st->context = (PyTypeObject *)Py_NewRef(type);
    Py_RETURN_NONE;

error:
    Py_DECREF(names);
    clear_fields(st);
    return NULL;
}

/* -- a new context ------------------------------------------------------------------ */

/* ContextFactory(cls)(app, scope, receive, send): `cls(app, scope, receive, send)` for a
 * subclass of the bound Context that keeps its `__init__`, without running Python code:
 * one allocation and a store per field. */
typedef struct {
    PyObject_HEAD
    State *state;
    PyTypeObject *cls;
    vectorcallfunc vectorcall;
} ContextFactory;

static PyObject *
factory_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    ContextFactory *factory = (ContextFactory *)self;
    State *st = factory->state;
    if (PyVectorcall_NARGS(nargsf) != 4 || kwnames != NULL) {
        PyErr_SetString(PyExc_TypeError, "a context is made from (app, scope, receive, send)");
        return NULL;
    }
    PyObject *ctx = factory->cls->tp_alloc(factory->cls, 0);
    if (ctx == NULL) { /* GCOVR_EXCL_START: only a failed allocation gets here */
        return NULL;
    } /* GCOVR_EXCL_STOP */
    for (Py_ssize_t i = 0; i < st->field_count; i++) {
        PyObject *value = st->fields[i].value;
        value = value != NULL ? Py_NewRef(value) : PyDict_New();
        if (value == NULL) { /* GCOVR_EXCL_START: only a failed allocation gets here */
            Py_DECREF(ctx);
            return NULL;
        } /* GCOVR_EXCL_STOP */
        SLOT(ctx, st->fields[i].offset) = value;
    }
    SLOT(ctx, st->app) = Py_NewRef(args[0]);
    SLOT(ctx, st->scope) = Py_NewRef(args[1]);
    SLOT(ctx, st->receive) = Py_NewRef(args[2]);
    SLOT(ctx, st->send) = Py_NewRef(args[3]);
    return ctx;
}

static PyObject *
factory_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    State *st = PyType_GetModuleState(type);
    PyObject *cls;
    if (!no_keywords(type, kwargs) || !PyArg_ParseTuple(args, "O!:ContextFactory", &PyType_Type, &cls)) {
        return NULL;
    }
    if (st->context == NULL || !PyType_IsSubtype((PyTypeObject *)cls, st->context)) {
        PyErr_Format(PyExc_TypeError, "%R is not a subclass of the bound Context", cls);
        return NULL;
    }
    ContextFactory *self = PyObject_GC_New(ContextFactory, type);
    if (self == NULL) { /* GCOVR_EXCL_START: only a failed allocation gets here */
        return NULL;
    } /* GCOVR_EXCL_STOP */
    self->state = st;
    self->cls = (PyTypeObject *)Py_NewRef(cls);
    self->vectorcall = factory_vectorcall;
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

static int
factory_traverse(ContextFactory *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->cls);
    return 0;
}

static int
factory_clear(ContextFactory *self)
{
    Py_CLEAR(self->cls);
    return 0;
}

static void
factory_dealloc(ContextFactory *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    factory_clear(self);
    PyObject_GC_Del(self);
    Py_DECREF(type);
}

static PyMemberDef factory_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(ContextFactory, vectorcall), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot factory_slots[] = {
    {Py_tp_new, factory_new},
    {Py_tp_call, PyVectorcall_Call},
    {Py_tp_traverse, factory_traverse},
    {Py_tp_clear, factory_clear},
    {Py_tp_dealloc, factory_dealloc},
    {Py_tp_members, factory_members},
    {Py_tp_doc, "ContextFactory(cls)(app, scope, receive, send): a new context of class cls"},
    {0, NULL},
};

/* -- the chain (compose.chain) ------------------------------------------------------ */

/* compose generates, per chain length, a `Run` class whose method `s{k}` is the `next`
 * given to layer k-1; here one C type does it for every length. Per request: one Run, and
 * one Next per layer reached, as Python makes one bound method per layer. */

typedef struct {
    PyObject_HEAD
    State *state;
    PyObject *fns; /* tuple: the middleware */
    PyObject *twice, *late_error, *done;
    int late;
    vectorcallfunc vectorcall;
} Chain;

typedef struct {
    PyObject_HEAD
    Chain *chain;
    PyObject *ctx;
    PyObject *outer;
    Py_ssize_t index;
    vectorcallfunc vectorcall; /* a Run is also the `next` of layer 0: one object fewer */
} Run;

typedef struct {
    PyObject_HEAD
    Run *run;
    Py_ssize_t k;
    vectorcallfunc vectorcall;
} Next;

/* ctx.<name> = value, through the slot when ctx is a Context (compose() takes any object). */
static int
set_field(State *st, PyObject *ctx, Py_ssize_t offset, PyObject *name, PyObject *value)
{
    if (is_context(st, ctx)) {
        Py_XSETREF(SLOT(ctx, offset), Py_NewRef(value));
        return 0;
    }
    return PyObject_SetAttr(ctx, name, value);
}

/* ctx._finished, read as Python reads it: only development chains check it */
static int
finished(State *st, PyObject *ctx)
{
    PyObject *value = PyObject_GetAttr(ctx, st->s_finished);
    int result = value == NULL ? -1 : PyObject_IsTrue(value);
    Py_XDECREF(value);
    return result;
}

/* raise make(*args): misuse.py builds the error, with the caller's file and line */
static PyObject *
raise_made(PyObject *make, PyObject *const *args, size_t nargs)
{
    PyObject *error = PyObject_Vectorcall(make, args, nargs, NULL);
    if (error != NULL) {
        PyErr_SetObject((PyObject *)Py_TYPE(error), error);
        Py_DECREF(error);
    }
    return NULL;
}

static PyObject *next_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames);

static PyObject *
new_next(Run *run, Py_ssize_t k)
{
    Next *next = PyObject_GC_New(Next, run->chain->state->next_type);
    if (next == NULL) { /* GCOVR_EXCL_START: only a failed allocation gets here */
        return NULL;
    } /* GCOVR_EXCL_STOP */
    next->run = (Run *)Py_NewRef(run);
    next->k = k;
    next->vectorcall = next_vectorcall;
    PyObject_GC_Track(next);
    return (PyObject *)next;
}

/* `next()` given to layer k-1: Koa's `i <= index` check, then layer k (or the outer next). */
static PyObject *
step(Run *run, Py_ssize_t k)
{
    Chain *chain = run->chain;
    State *st = chain->state;
    PyObject *fns = chain->fns;
    PyObject *caller = PyTuple_GET_ITEM(fns, k - 1);
    if (k <= run->index) {
        return raise_made(chain->twice, &caller, 1);
    }
    run->index = k;
    PyObject *ctx = run->ctx;
    if (chain->late) {
        int done = finished(st, ctx);
        if (done < 0) {
            return NULL;
        }
        if (done) {
            PyObject *args[2] = {ctx, caller};
            return raise_made(chain->late_error, args, 2);
        }
    }
    if (k == PyTuple_GET_SIZE(fns)) {
        return run->outer == Py_None ? Py_NewRef(chain->done) : PyObject_CallNoArgs(run->outer);
    }
    PyObject *next = new_next(run, k + 1);
    if (next == NULL) { /* GCOVR_EXCL_START: only a failed allocation gets here */
        return NULL;
    } /* GCOVR_EXCL_STOP */
    PyObject *args[2] = {ctx, next};
    PyObject *awaitable = PyObject_Vectorcall(PyTuple_GET_ITEM(fns, k), args, 2, NULL);
    Py_DECREF(next);
    if (awaitable == NULL || set_field(st, ctx, st->pending, st->s_pending, awaitable) < 0 ||
        set_field(st, ctx, st->pending_by, st->s_pending_by, caller) < 0) {
        Py_XDECREF(awaitable);
        return NULL;
    }
    return awaitable;
}

static int
no_arguments(size_t nargsf, PyObject *kwnames)
{
    if (PyVectorcall_NARGS(nargsf) != 0 || kwnames != NULL) {
        PyErr_SetString(PyExc_TypeError, "next() takes no arguments");
        return 0;
    }
    return 1;
}

static PyObject *
next_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Next *next = (Next *)self;
    (void)args; /* none: no_arguments() checks */
    return no_arguments(nargsf, kwnames) ? step(next->run, next->k) : NULL;
}

static int
next_traverse(Next *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->run);
    return 0;
}

static int
next_clear(Next *self)
{
    Py_CLEAR(self->run);
    return 0;
}

static void
next_dealloc(Next *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    next_clear(self);
    PyObject_GC_Del(self);
    Py_DECREF(type);
}

static PyObject *
next_repr(Next *self)
{
    return PyUnicode_FromFormat("<next() of layer %zd of %R>", self->k - 1,
                                self->run && self->run->chain ? (PyObject *)self->run->chain : Py_None);
}

static PyMemberDef next_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(Next, vectorcall), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot next_slots[] = {
    {Py_tp_call, PyVectorcall_Call},
    {Py_tp_traverse, next_traverse},
    {Py_tp_clear, next_clear},
    {Py_tp_dealloc, next_dealloc},
    {Py_tp_repr, next_repr},
    {Py_tp_members, next_members},
    {Py_tp_doc, "The next() a middleware is given: runs everything downstream of it"},
    {0, NULL},
};

static int
run_traverse(Run *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->chain);
    Py_VISIT(self->ctx);
    Py_VISIT(self->outer);
    return 0;
}

static int
run_clear(Run *self)
{
    Py_CLEAR(self->chain);
    Py_CLEAR(self->ctx);
    Py_CLEAR(self->outer);
    return 0;
}

static void
run_dealloc(Run *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    run_clear(self);
    PyObject_GC_Del(self);
    Py_DECREF(type);
}

static PyObject *
run_repr(Run *self)
{
    return PyUnicode_FromFormat("<next() of layer 0 of %R>", self->chain ? (PyObject *)self->chain : Py_None);
}

static PyObject *
run_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    (void)args; /* none: no_arguments() checks */
    return no_arguments(nargsf, kwnames) ? step((Run *)self, 1) : NULL;
}

static PyMemberDef run_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(Run, vectorcall), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot run_slots[] = {
    {Py_tp_call, PyVectorcall_Call},
    {Py_tp_traverse, run_traverse},
    {Py_tp_clear, run_clear},
    {Py_tp_dealloc, run_dealloc},
    {Py_tp_repr, run_repr},
    {Py_tp_members, run_members},
    {Py_tp_doc, "One request's pass through a chain, and the next() of its first layer"},
    {0, NULL},
};

/* Layer 0's awaitable, with `run` (its ctx and outer set) as its next(). */
static PyObject *
run_first(Run *run, Chain *chain)
{
    run->chain = (Chain *)Py_NewRef(chain);
    run->index = 0;
    PyObject *call[2] = {run->ctx, (PyObject *)run};
    return PyObject_Vectorcall(PyTuple_GET_ITEM(chain->fns, 0), call, 2, NULL);
}

/* chain(ctx, outer): compose's `start`: layer 0's awaitable. */
static PyObject *
chain_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Chain *chain = (Chain *)self;
    if (PyVectorcall_NARGS(nargsf) != 2 || kwnames != NULL) {
        PyErr_SetString(PyExc_TypeError, "a chain is called as step(ctx, outer_next)");
        return NULL;
    }
    PyObject *ctx = args[0], *outer = args[1];
    if (PyTuple_GET_SIZE(chain->fns) == 0) {
        return outer == Py_None ? Py_NewRef(chain->done) : PyObject_CallNoArgs(outer);
    }
    Run *run = PyObject_GC_New(Run, chain->state->run_type);
    if (run == NULL) { /* GCOVR_EXCL_START: only a failed allocation gets here */
        return NULL;
    } /* GCOVR_EXCL_STOP */
    run->ctx = Py_NewRef(ctx);
    run->outer = Py_NewRef(outer);
    run->vectorcall = run_vectorcall;
    PyObject_GC_Track(run);
    PyObject *awaitable = run_first(run, chain);
    Py_DECREF(run);
    return awaitable;
}

/* Chain(fns, late, twice, late_error, done) */
static PyObject *
chain_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    State *st = PyType_GetModuleState(type);
    PyObject *fns, *twice, *late_error, *done;
    int late;
    if (!no_keywords(type, kwargs) ||
        !PyArg_ParseTuple(args, "O!pOOO:Chain", &PyTuple_Type, &fns, &late, &twice, &late_error, &done)) {
        return NULL;
    }
    Chain *self = PyObject_GC_New(Chain, type);
    if (self == NULL) { /* GCOVR_EXCL_START: only a failed allocation gets here */
        return NULL;
    } /* GCOVR_EXCL_STOP */
    self->state = st;
    self->fns = Py_NewRef(fns);
    self->twice = Py_NewRef(twice);
    self->late_error = Py_NewRef(late_error);
    self->done = Py_NewRef(done);
    self->late = late;
    self->vectorcall = chain_vectorcall;
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

static int
chain_traverse(Chain *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->fns);
    Py_VISIT(self->twice);
    Py_VISIT(self->late_error);
    Py_VISIT(self->done);
    return 0;
}

static int
chain_clear(Chain *self)
{
    Py_CLEAR(self->fns);
    Py_CLEAR(self->twice);
    Py_CLEAR(self->late_error);
    Py_CLEAR(self->done);
    return 0;
}

static void
chain_dealloc(Chain *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    chain_clear(self);
    PyObject_GC_Del(self);
    Py_DECREF(type);
}

static PyObject *
chain_repr(Chain *self)
{
    return PyUnicode_FromFormat("<aiokoa chain of %zd%s>", self->fns ? PyTuple_GET_SIZE(self->fns) : 0,
                                self->late ? " (checked)" : "");
}

static PyMemberDef chain_members[] = {
    {"layers", T_OBJECT, offsetof(Chain, fns), READONLY, "the middleware, in order"},
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(Chain, vectorcall), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot chain_slots[] = {
    {Py_tp_new, chain_new},
    {Py_tp_call, PyVectorcall_Call},
    {Py_tp_traverse, chain_traverse},
    {Py_tp_clear, chain_clear},
    {Py_tp_dealloc, chain_dealloc},
    {Py_tp_repr, chain_repr},
    {Py_tp_members, chain_members},
    {Py_tp_doc, "Chain(fns, late, twice, late_error, done)(ctx, outer): compose.chain's step"},
    {0, NULL},
};

/* -- one call of an app ------------------------------------------------------------ */

/* Server(Koa, check_downstream, finish, error_response)(app, scope, receive, send): the twin of
 * `application.handle`, which `Koa.__call__` awaits. Each call makes one Serve, a coroutine
 * written as a state machine: it drives the chain, then the two sends. A Serve is also the
 * next() of layer 0 (its first fields are a Run): one object fewer. */

typedef struct {
    PyObject_HEAD
    State *state;
    PyTypeObject *app_type;
    Py_ssize_t step, make_context; /* offsets of the app's slots */
    PyObject *check_downstream, *finish, *error_response;
    vectorcallfunc vectorcall;
} Server;

enum { FRESH, CHAIN, STREAM, START, END, TAIL, DONE };

typedef struct {
    Run run; /* first: step() takes a Serve as a Run */
    Server *server;
    PyObject *app, *scope, *receive, *send; /* the call's arguments, until it starts */
    PyObject *inner;                        /* the awaitable being driven */
    PyObject *end;                          /* the body message, while the start is sent */
    int state, running;
} Serve;

/* The iterator `await awaitable` drives; steals it. */
static PyObject *
await_iter(PyObject *awaitable)
{
    if (PyCoro_CheckExact(awaitable)) {
        return awaitable;
    }
    PyAsyncMethods *async = Py_TYPE(awaitable)->tp_as_async;
    if (async == NULL || async->am_await == NULL) {
        PyErr_Format(PyExc_TypeError, "object %.100s can't be used in 'await' expression", Py_TYPE(awaitable)->tp_name);
        Py_DECREF(awaitable);
        return NULL;
    }
    PyObject *iter = async->am_await(awaitable);
    Py_DECREF(awaitable);
    if (iter != NULL && (PyCoro_CheckExact(iter) || !PyIter_Check(iter))) {
        PyErr_Format(PyExc_TypeError, "__await__() returned %s of type '%.100s'",
                     PyCoro_CheckExact(iter) ? "a coroutine" : "a non-iterator", Py_TYPE(iter)->tp_name);
        Py_CLEAR(iter);
    }
    return iter;
}

/* The steps below return -1 (an exception is set), 0 (the request is over) or 1 (`inner`
 * is the next awaitable to drive). */

static int
await_into(Serve *self, PyObject *awaitable, int state)
{
    PyObject *iter = awaitable == NULL ? NULL : await_iter(awaitable);
    if (iter == NULL) {
        return -1;
    }
    self->inner = iter;
    self->state = state;
    return 1;
}

static int
send_message(Serve *self, PyObject *message, int state)
{
    PyObject *send = SLOT(self->run.ctx, self->server->state->send); /* ctx._send, which the trace may wrap */
    if (send == NULL) {
        PyErr_SetString(PyExc_AttributeError, "the context has no _send");
        return -1;
    }
    return await_into(self, PyObject_CallOneArg(send, message), state);
}

static int guarded(Serve *self, int code);

/* What finish() or error_response() returned: (start, end) to send, None, or a stream; steals it. */
static int
respond_with(Serve *self, PyObject *out)
{
    if (out == Py_None) {
        Py_DECREF(out);
        return 0;
    }
    if (!PyTuple_CheckExact(out) || PyTuple_GET_SIZE(out) != 2) {
        return guarded(self, await_into(self, out, STREAM)); /* a stream sends itself */
    }
    PyObject *start = PyTuple_GET_ITEM(out, 0), *end = PyTuple_GET_ITEM(out, 1);
    int code;
    if (start != Py_None) {
        self->end = Py_NewRef(end);
        code = send_message(self, start, START);
    }
    else {
        code = send_message(self, end, END);
    }
    Py_DECREF(out);
    return code;
}

/* The exception being raised, normalized, with its traceback; cleared. */
static PyObject *
take_exception(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    return PyErr_GetRaisedException();
#else
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb != NULL) {
        PyException_SetTraceback(value, tb);
    }
    Py_XDECREF(type);
    Py_XDECREF(tb);
    return value;
#endif
}

/* `except Exception as err:` the error response (respond.error_response), with err as the
 * exception being handled, as inside Python's except block. */
static int
failure(Serve *self)
{
    PyObject *err = take_exception();
    PyObject *handled = PyErr_GetHandledException();
    PyErr_SetHandledException(err);
    PyObject *args[2] = {self->run.ctx, err};
    PyObject *out = PyObject_Vectorcall(self->server->error_response, args, 2, NULL);
    PyErr_SetHandledException(handled);
    Py_XDECREF(handled);
    Py_DECREF(err);
    return out == NULL ? -1 : respond_with(self, out);
}

/* The `try:` of `serve` covers the chain, the checks after it and a stream. */
static int
guarded(Serve *self, int code)
{
    return code < 0 && PyErr_ExceptionMatches(PyExc_Exception) ? failure(self) : code;
}

/* The chain has returned: the check of its last next(), then what finish() gives to send. */
static PyObject *
chain_returned(Serve *self)
{
    PyObject *ctx = self->run.ctx;
    if (SLOT(ctx, self->server->state->pending) != Py_None) {
        PyObject *checked = PyObject_CallOneArg(self->server->check_downstream, ctx);
        if (checked == NULL) {
            return NULL;
        }
        Py_DECREF(checked);
    }
    return PyObject_CallOneArg(self->server->finish, ctx);
}

/* The start of `serve`: other scopes, the context, the chain's first awaitable. */
static int
begin(Serve *self, PyObject *app, PyObject *scope, PyObject *receive, PyObject *send)
{
    Server *server = self->server;
    State *st = server->state;
    PyObject *args[4] = {app, scope, receive, send};
    PyObject *kind = PyObject_GetItem(scope, st->s_type);
    int http = kind == NULL ? -1 : PyObject_RichCompareBool(kind, st->s_http, Py_EQ);
    Py_XDECREF(kind);
    if (http <= 0) {
        return http < 0 ? -1 : await_into(self, PyObject_VectorcallMethod(st->s_other, args, 4, NULL), TAIL);
    }
    /* `app._step or app._compose()`: the app keeps None or a chain there; _compose() also
     * sets _make_context */
    PyObject *step = SLOT(app, server->step);
    step = step != NULL && step != Py_None ? Py_NewRef(step) : PyObject_CallMethodNoArgs(app, st->s_compose);
    PyObject *make = step == NULL ? NULL : SLOT(app, server->make_context);
    if (step != NULL && make == NULL) {
        PyErr_SetString(PyExc_AttributeError, "the app has no _make_context");
    }
    PyObject *ctx = make == NULL ? NULL : PyObject_Vectorcall(make, args, 4, NULL);
    if (ctx != NULL && !is_context(st, ctx)) {
        PyErr_Format(PyExc_TypeError, "app.context made %R, not an aiokoa Context", ctx);
        Py_CLEAR(ctx);
    }
    if (ctx == NULL) {
        Py_XDECREF(step);
        return -1;
    }
    self->run.ctx = ctx;
    self->run.outer = Py_NewRef(Py_None);
    self->state = CHAIN;
    PyObject *call[2] = {ctx, Py_None};
    PyObject *awaitable = Py_IS_TYPE(step, st->chain_type) && PyTuple_GET_SIZE(((Chain *)step)->fns) > 0
                              ? run_first(&self->run, (Chain *)step) /* as chain_vectorcall, with this as the Run */
                              : PyObject_Vectorcall(step, call, 2, NULL);
    Py_DECREF(step);
    return guarded(self, await_into(self, awaitable, CHAIN));
}

/* `inner` has returned (or raised, with `error_response`): the next step. */
static int
advance(Serve *self, int failed)
{
    switch (self->state) {
    case CHAIN: { /* the messages of a complete body are sent outside the `try:`, as in Python */
        PyObject *out = failed ? NULL : chain_returned(self);
        return out == NULL ? guarded(self, -1) : respond_with(self, out);
    }
    case STREAM:
        return guarded(self, failed ? -1 : 0);
    case START: {
        PyObject *end = self->end;
        self->end = NULL;
        int code = failed ? -1 : send_message(self, end, END);
        Py_DECREF(end);
        return code;
    }
    default:
        return failed ? -1 : 0;
    }
}

static PySendResult
over(Serve *self, int code, PyObject **result)
{
    self->state = DONE;
    Py_CLEAR(self->inner);
    Py_CLEAR(self->end);
    *result = code < 0 ? NULL : Py_NewRef(Py_None);
    return code < 0 ? PYGEN_ERROR : PYGEN_RETURN;
}

static PySendResult then(Serve *self, int code, PyObject **result);

/* Send `arg` into inner, then take every step that does not wait. */
static PySendResult
drive(Serve *self, PyObject *arg, PyObject **result)
{
    PyObject *value = NULL;
    PySendResult status = PyIter_Send(self->inner, arg, &value); /* running: nothing else replaces inner */
    if (status == PYGEN_NEXT) {
        *result = value;
        return PYGEN_NEXT;
    }
    Py_XDECREF(value);
    Py_CLEAR(self->inner);
    return then(self, advance(self, status == PYGEN_ERROR), result);
}

/* After a step that returned `code`: the end, or the next awaitable driven; a few steps at
 * most, as each state comes once. */
static PySendResult
then(Serve *self, int code, PyObject **result)
{
    return code <= 0 ? over(self, code, result) : drive(self, Py_None, result);
}

static int
not_running(Serve *self)
{
    if (self->running) {
        PyErr_SetString(PyExc_ValueError, "coroutine already executing");
        return 0;
    }
    return 1;
}

static PySendResult
serve_am_send(Serve *self, PyObject *arg, PyObject **result)
{
    *result = NULL;
    if (!not_running(self)) {
        return PYGEN_ERROR;
    }
    if (self->state == DONE || (self->state == FRESH && arg != Py_None)) {
        PyErr_SetString(self->state == DONE ? PyExc_RuntimeError : PyExc_TypeError,
                        self->state == DONE ? "cannot reuse already awaited coroutine"
                                            : "can't send non-None value to a just-started coroutine");
        return PYGEN_ERROR;
    }
    self->running = 1;
    PySendResult status;
    if (self->state == FRESH) {
        PyObject *app = self->app, *scope = self->scope, *receive = self->receive, *send = self->send;
        self->app = self->scope = self->receive = self->send = NULL;
        int code = begin(self, app, scope, receive, send);
        Py_DECREF(app);
        Py_DECREF(scope);
        Py_DECREF(receive);
        Py_DECREF(send);
        status = then(self, code, result);
    }
    else {
        status = drive(self, arg, result);
    }
    self->running = 0;
    return status;
}

static PyObject *
returned(PySendResult status, PyObject *value)
{
    if (status == PYGEN_RETURN) {
        Py_DECREF(value); /* always None */
        PyErr_SetNone(PyExc_StopIteration);
        return NULL;
    }
    return value;
}

static PyObject *
serve_send(Serve *self, PyObject *arg)
{
    PyObject *value;
    PySendResult status = serve_am_send(self, arg, &value);
    return returned(status, value);
}

static PyObject *
serve_iternext(Serve *self)
{
    return serve_send(self, Py_None);
}

/* raise the exception throw() was given, as Python's coroutine.throw() does: 0, or -1 when
 * the arguments name no exception (a TypeError is raised instead) */
static int
raise_thrown(PyObject *args)
{
    PyObject *type, *value = Py_None, *tb = NULL;
    if (!PyArg_ParseTuple(args, "O|OO:throw", &type, &value, &tb)) {
        return -1;
    }
    if (PyExceptionInstance_Check(type)) {
        PyErr_SetObject((PyObject *)Py_TYPE(type), type);
    }
    else if (PyExceptionClass_Check(type)) {
        PyErr_SetObject(type, value);
    }
    else {
        PyErr_SetString(PyExc_TypeError, "exceptions must be classes or instances deriving from BaseException");
        return -1;
    }
    return 0;
}

/* throw(exc): into the awaitable being driven, as `await` passes it on; raised here before
 * the start or after the end. */
static PyObject *
serve_throw(Serve *self, PyObject *args)
{
    PyObject *result = NULL;
    if (!not_running(self)) {
        return NULL;
    }
    if (self->inner == NULL) {
        /* before the start: raised there, which ends it; after the end: refused; and nothing
         * changes when what throw() was given names no exception */
        if (raise_thrown(args) == 0) {
            if (self->state == DONE) {
                PyErr_SetString(PyExc_RuntimeError, "cannot reuse already awaited coroutine");
            }
            over(self, -1, &result);
        }
        return NULL;
    }
    self->running = 1; /* nothing else replaces inner until it is over */
    PyObject *throw = PyObject_GetAttr(self->inner, self->server->state->s_throw);
    if (throw == NULL && !PyErr_ExceptionMatches(PyExc_AttributeError)) {
        self->running = 0;
        return NULL; /* as Python: raised here, and the call is left as it was */
    }
    if (throw == NULL) {
        PyErr_Clear();
        (void)raise_thrown(args); /* an iterator without throw(): raised at the await */
    }
    PyObject *value = throw == NULL ? NULL : PyObject_Call(throw, args, NULL);
    Py_XDECREF(throw);
    PySendResult status = PYGEN_NEXT;
    result = value;
    if (value == NULL) {
        int failed = !PyErr_ExceptionMatches(PyExc_StopIteration);
        if (!failed) {
            PyErr_Clear();
        }
        Py_CLEAR(self->inner);
        status = then(self, advance(self, failed), &result);
    }
    self->running = 0;
    return returned(status, result);
}

/* close(): closes the awaitable being driven, as Python's coroutine.close() does: what that
 * raises is raised at the await, and the steps after it run; they may not wait again. */
static PyObject *
serve_close(Serve *self, PyObject *unused)
{
    (void)unused; /* METH_NOARGS */
    PyObject *result = NULL;
    if (!not_running(self)) {
        return NULL;
    }
    if (self->inner == NULL) { /* not started, or over */
        over(self, 0, &result);
        return result;
    }
    self->running = 1;
    PyObject *close = PyObject_GetAttr(self->inner, self->server->state->s_close);
    if (close == NULL && !PyErr_ExceptionMatches(PyExc_AttributeError)) {
        PyErr_WriteUnraisable(self->inner); /* as Python: closed as one without close() */
    }
    PyErr_Clear();
    PyObject *closed = close == NULL ? Py_NewRef(Py_None) : PyObject_CallNoArgs(close);
    Py_XDECREF(close);
    Py_CLEAR(self->inner);
    PySendResult status = then(self, closed == NULL ? advance(self, 1) : 0, &result);
    Py_XDECREF(closed);
    self->running = 0;
    if (status == PYGEN_NEXT) { /* left waiting again, as Python leaves a coroutine */
        Py_DECREF(result);
        PyErr_SetString(PyExc_RuntimeError, "coroutine ignored GeneratorExit");
        return NULL;
    }
    return result;
}

static PyObject *
serve_await(PyObject *self)
{
    return Py_NewRef(self);
}

static int
serve_traverse(Serve *self, visitproc visit, void *arg)
{
    Py_VISIT(self->server);
    Py_VISIT(self->app);
    Py_VISIT(self->scope);
    Py_VISIT(self->receive);
    Py_VISIT(self->send);
    Py_VISIT(self->inner);
    Py_VISIT(self->end);
    return run_traverse(&self->run, visit, arg);
}

static int
serve_clear(Serve *self)
{
    Py_CLEAR(self->server);
    Py_CLEAR(self->app);
    Py_CLEAR(self->scope);
    Py_CLEAR(self->receive);
    Py_CLEAR(self->send);
    Py_CLEAR(self->inner);
    Py_CLEAR(self->end);
    return run_clear(&self->run);
}

static void
serve_dealloc(Serve *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    serve_clear(self);
    PyObject_GC_Del(self);
    Py_DECREF(type);
}

static PyObject *
serve_repr(Serve *self)
{
    return self->run.chain != NULL ? run_repr(&self->run) : PyUnicode_FromString("<aiokoa serve coroutine>");
}

static PyMethodDef serve_methods[] = {
    {"send", (PyCFunction)(void (*)(void))serve_send, METH_O, "send(value): resume, as coroutine.send"},
    {"throw", (PyCFunction)(void (*)(void))serve_throw, METH_VARARGS, "throw(exc): raise exc at the await, as coroutine.throw"},
    {"close", (PyCFunction)(void (*)(void))serve_close, METH_NOARGS, "close(): stop, as coroutine.close"},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef serve_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(Serve, run.vectorcall), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot serve_slots[] = {
    {Py_tp_call, PyVectorcall_Call},
    {Py_am_await, serve_await},
    {Py_am_send, serve_am_send},
    {Py_tp_iternext, serve_iternext},
    {Py_tp_methods, serve_methods},
    {Py_tp_members, serve_members},
    {Py_tp_traverse, serve_traverse},
    {Py_tp_clear, serve_clear},
    {Py_tp_dealloc, serve_dealloc},
    {Py_tp_repr, serve_repr},
    {Py_tp_doc, "One call of an app, as a coroutine, and the next() of its chain's first layer"},
    {0, NULL},
};

/* server(app, scope, receive, send): a Serve, not started. */
static PyObject *
server_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Server *server = (Server *)self;
    if (PyVectorcall_NARGS(nargsf) != 4 || kwnames != NULL || !PyObject_TypeCheck(args[0], server->app_type)) {
        PyErr_SetString(PyExc_TypeError, "a server is called as serve(app, scope, receive, send)");
        return NULL;
    }
    Serve *serve = PyObject_GC_New(Serve, server->state->serve_type);
    if (serve == NULL) { /* GCOVR_EXCL_START: only a failed allocation gets here */
        return NULL;
    } /* GCOVR_EXCL_STOP */
    serve->run.chain = NULL;
    serve->run.ctx = NULL;
    serve->run.outer = NULL;
    serve->run.index = 0;
    serve->run.vectorcall = run_vectorcall;
    serve->server = (Server *)Py_NewRef(server);
    serve->app = Py_NewRef(args[0]);
    serve->scope = Py_NewRef(args[1]);
    serve->receive = Py_NewRef(args[2]);
    serve->send = Py_NewRef(args[3]);
    serve->inner = serve->end = NULL;
    serve->state = FRESH;
    serve->running = 0;
    PyObject_GC_Track(serve);
    return (PyObject *)serve;
}

/* Server(Koa, check_downstream, finish, error_response) */
static PyObject *
server_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    State *st = PyType_GetModuleState(type);
    PyTypeObject *app_type;
    PyObject *check_downstream, *finish, *error_response;
    Py_ssize_t step, make_context;
    if (!no_keywords(type, kwargs) ||
        !PyArg_ParseTuple(args, "O!OOO:Server", &PyType_Type, &app_type, &check_downstream, &finish,
                                        &error_response) ||
        named_offset(app_type, "_step", &step) < 0 || named_offset(app_type, "_make_context", &make_context) < 0) {
        return NULL;
    }
    if (st->context == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Server() needs bind() first");
        return NULL;
    }
    Server *self = PyObject_GC_New(Server, type);
    if (self == NULL) { /* GCOVR_EXCL_START: only a failed allocation gets here */
        return NULL;
    } /* GCOVR_EXCL_STOP */
    self->state = st;
    self->app_type = (PyTypeObject *)Py_NewRef(app_type);
    self->step = step;
    self->make_context = make_context;
    self->check_downstream = Py_NewRef(check_downstream);
    self->finish = Py_NewRef(finish);
    self->error_response = Py_NewRef(error_response);
    self->vectorcall = server_vectorcall;
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

static int
server_traverse(Server *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->app_type);
    Py_VISIT(self->check_downstream);
    Py_VISIT(self->finish);
    Py_VISIT(self->error_response);
    return 0;
}

static int
server_clear(Server *self)
{
    Py_CLEAR(self->app_type);
    Py_CLEAR(self->check_downstream);
    Py_CLEAR(self->finish);
    Py_CLEAR(self->error_response);
    return 0;
}

static void
server_dealloc(Server *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    server_clear(self);
    PyObject_GC_Del(self);
    Py_DECREF(type);
}

static PyMemberDef server_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(Server, vectorcall), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot server_slots[] = {
    {Py_tp_new, server_new},
    {Py_tp_call, PyVectorcall_Call},
    {Py_tp_traverse, server_traverse},
    {Py_tp_clear, server_clear},
    {Py_tp_dealloc, server_dealloc},
    {Py_tp_members, server_members},
    {Py_tp_doc, "Server(Koa, check_downstream, finish, error_response)(app, scope, receive, send): one call of an app"},
    {0, NULL},
};

/* -- the module ------------------------------------------------------------------- */

#define FLAGS (Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_IMMUTABLETYPE)

static PyType_Spec factory_spec = {"aiokoa._speedups.ContextFactory", sizeof(ContextFactory), 0, FLAGS, factory_slots};
static PyType_Spec chain_spec = {"aiokoa._speedups.Chain", sizeof(Chain), 0, FLAGS, chain_slots};
static PyType_Spec run_spec = {"aiokoa._speedups.Run", sizeof(Run), 0, FLAGS | Py_TPFLAGS_DISALLOW_INSTANTIATION,
                               run_slots};
static PyType_Spec next_spec = {"aiokoa._speedups.Next", sizeof(Next), 0, FLAGS | Py_TPFLAGS_DISALLOW_INSTANTIATION,
                                next_slots};
static PyType_Spec server_spec = {"aiokoa._speedups.Server", sizeof(Server), 0, FLAGS, server_slots};
static PyType_Spec serve_spec = {"aiokoa._speedups.Serve", sizeof(Serve), 0,
                                 FLAGS | Py_TPFLAGS_DISALLOW_INSTANTIATION, serve_slots};

static PyTypeObject *
add_type(PyObject *module, PyType_Spec *spec)
{
    PyObject *type = PyType_FromModuleAndSpec(module, spec, NULL);
    if (type != NULL && PyModule_AddType(module, (PyTypeObject *)type) < 0) { /* GCOVR_EXCL_START: only a failed allocation gets here */
        Py_CLEAR(type);
    } /* GCOVR_EXCL_STOP */
    return (PyTypeObject *)type;
}

static int
module_exec(PyObject *module)
{
#ifdef Py_GIL_DISABLED
    /* Contexts and chains are shared between requests without locks: the free-threaded
     * build runs the pure-Python code instead. */
    PyErr_SetString(PyExc_ImportError, "aiokoa._speedups needs the GIL");
    return -1;
#endif
    State *st = module_state(module);
    st->factory_type = add_type(module, &factory_spec);
    st->chain_type = add_type(module, &chain_spec);
    st->run_type = add_type(module, &run_spec);
    st->next_type = add_type(module, &next_spec);
    st->server_type = add_type(module, &server_spec);
    st->serve_type = add_type(module, &serve_spec);
    st->s_type = PyUnicode_InternFromString("type");
    st->s_http = PyUnicode_InternFromString("http");
    st->s_other = PyUnicode_InternFromString("_other");
    st->s_compose = PyUnicode_InternFromString("_compose");
    st->s_pending = PyUnicode_InternFromString("_pending");
    st->s_pending_by = PyUnicode_InternFromString("_pending_by");
    st->s_finished = PyUnicode_InternFromString("_finished");
    st->s_throw = PyUnicode_InternFromString("throw");
    st->s_close = PyUnicode_InternFromString("close");
    /* GCOVR_EXCL_BR_START: only a failed allocation leaves one NULL */
    return st->factory_type && st->chain_type && st->run_type && st->next_type && st->server_type && st->serve_type &&
                   st->s_type && st->s_http && st->s_other && st->s_compose && st->s_pending && st->s_pending_by &&
                   st->s_finished && st->s_throw && st->s_close
               ? 0
               : -1;
    /* GCOVR_EXCL_BR_STOP */
}

static int
module_traverse(PyObject *module, visitproc visit, void *arg)
{
    State *st = module_state(module);
    Py_VISIT(st->factory_type);
    Py_VISIT(st->chain_type);
    Py_VISIT(st->run_type);
    Py_VISIT(st->next_type);
    Py_VISIT(st->server_type);
    Py_VISIT(st->serve_type);
    Py_VISIT(st->context);
    for (Py_ssize_t i = 0; i < st->field_count; i++) {
        Py_VISIT(st->fields[i].value);
    }
    return 0;
}

static int
module_clear(PyObject *module)
{
    State *st = module_state(module);
    Py_CLEAR(st->factory_type);
    Py_CLEAR(st->chain_type);
    Py_CLEAR(st->run_type);
    Py_CLEAR(st->next_type);
    Py_CLEAR(st->server_type);
    Py_CLEAR(st->serve_type);
    Py_CLEAR(st->context);
    clear_fields(st);
    Py_CLEAR(st->s_type);
    Py_CLEAR(st->s_http);
    Py_CLEAR(st->s_other);
    Py_CLEAR(st->s_compose);
    Py_CLEAR(st->s_pending);
    Py_CLEAR(st->s_pending_by);
    Py_CLEAR(st->s_finished);
    Py_CLEAR(st->s_throw);
    Py_CLEAR(st->s_close);
    return 0;
}

static void
module_free(void *module)
{
    module_clear((PyObject *)module);
}

static PyMethodDef module_methods[] = {
    {"bind", (PyCFunction)(void (*)(void))bind, METH_FASTCALL,
     "bind(Context, prototype): the context's fields and their first values, read once"},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, module_exec},
#ifdef Py_mod_gil
    {Py_mod_gil, Py_MOD_GIL_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "aiokoa._speedups",
    .m_doc = "The steps every request takes through aiokoa's core, in C.",
    .m_size = sizeof(State),
    .m_methods = module_methods,
    .m_slots = module_slots,
    .m_traverse = module_traverse,
    .m_clear = module_clear,
    .m_free = module_free,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModuleDef_Init(&module_def);
}
