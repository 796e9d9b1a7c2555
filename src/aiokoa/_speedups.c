/* aiokoa._speedups: the per-request steps that cost the most in pure Python, in C.
 *
 * Built by `pip install` where a C compiler exists; without it aiokoa runs the
 * pure-Python versions, which stay the reference (the test suite runs both).
 *
 * The context stays the Python class with `__slots__` (its properties and methods are
 * Python); C reaches its fields through the slots' offsets, read once from the class in
 * `bind()`, so nothing here repeats the list of fields or their defaults.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#define NAME_CACHE_LIMIT 4096

/* A new context's slots, as Context.__init__ leaves them: an image copied in one go (the
 * slots of a __slots__ class are contiguous), the references it takes counted per distinct
 * value, and the fields that get an empty dict of their own (`_headers`). */
static PyTypeObject *context_type = NULL;
static PyObject **image = NULL; /* in offset order; NULL: left unset, or a fresh dict */
static Py_ssize_t image_start = 0, image_count = 0;
typedef struct {
    PyObject *value; /* a strong reference */
    Py_ssize_t uses; /* how many slots of the image hold it */
} Share;
static Share *shares = NULL;
static Py_ssize_t share_count = 0;
static Py_ssize_t *fresh_dicts = NULL, fresh_count = 0; /* offsets */
static Py_ssize_t off_app, off_scope, off_receive, off_send;
static Py_ssize_t off_status, off_headers, off_header_sent;
static Py_ssize_t off_respond, off_ended, off_body, off_method;
static Py_ssize_t off_pending, off_pending_by, off_finished;
static Py_ssize_t off_explicit_status, off_message;
static PyObject *encoded_names = NULL; /* shared with response.py: header name -> bytes */

/* interned names and constants, made once in PyInit__speedups */
static PyObject *s_type, *s_status, *s_headers, *s_start, *s_method, *s_head, *s_content_length, *s_content_type,
    *s_transfer_encoding, *s_pending, *s_pending_by, *s_finished, *s_slash, *s_empty, *s_fullmatch, *s_groups,
    *s_lower, *empty_tuple, *status_ok, *s_body, *s_end;

#define SLOT(obj, offset) (*(PyObject **)((char *)(obj) + (offset)))

/* -- binding to the Python classes ------------------------------------------------- */

static int
slot_offset(PyTypeObject *type, PyObject *name, Py_ssize_t *offset)
{
    PyObject *descr = PyDict_GetItemWithError(type->tp_dict, name);
    if (descr == NULL || !Py_IS_TYPE(descr, &PyMemberDescr_Type) ||
        ((PyMemberDescrObject *)descr)->d_member->type != T_OBJECT_EX) {
        if (!PyErr_Occurred()) {
            PyErr_Format(PyExc_TypeError, "%R is not a __slots__ field of %s", name, type->tp_name);
        }
        return -1;
    }
    *offset = ((PyMemberDescrObject *)descr)->d_member->offset;
    return 0;
}

static int
named_offset(PyTypeObject *type, const char *name, Py_ssize_t *offset)
{
    PyObject *key = PyUnicode_InternFromString(name);
    if (key == NULL) {
        return -1;
    }
    int result = slot_offset(type, key, offset);
    Py_DECREF(key);
    return result;
}

static PyTypeObject *context_seen = NULL; /* the last class that passed: each app has its own */

static int
is_context(PyObject *ctx)
{
    PyTypeObject *type = Py_TYPE(ctx);
    if (type == context_seen) {
        return 1;
    }
    if (context_type == NULL || !PyType_IsSubtype(type, context_type)) {
        return 0;
    }
    Py_XSETREF(context_seen, (PyTypeObject *)Py_NewRef(type)); /* held: its address stays its own */
    return 1;
}

/* bind(Context, prototype, encoded_names): learn the slots' offsets, and take each new
 * context's field values from a prototype made by the real `Context.__init__`. Once: the
 * contexts already made (and those kept to be made again) have this image's layout. */
static PyObject *
bind(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyType_Check(args[0]) || !PyObject_TypeCheck(args[1], (PyTypeObject *)args[0]) ||
        !PyDict_CheckExact(args[2])) {
        PyErr_SetString(PyExc_TypeError, "bind(Context, prototype, encoded_names)");
        return NULL;
    }
    if (context_type != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "bind() runs once");
        return NULL;
    }
    PyTypeObject *type = (PyTypeObject *)args[0];
    PyObject *prototype = args[1];
    PyObject *slots = PyObject_GetAttrString(args[0], "__slots__");
    if (slots == NULL) {
        return NULL;
    }
    PyObject *names = PySequence_Fast(slots, "__slots__ must be a sequence");
    Py_DECREF(slots);
    if (names == NULL) {
        return NULL;
    }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(names), first = PY_SSIZE_T_MAX, last = 0;
    Py_ssize_t *offsets = PyMem_Calloc(count ? count : 1, sizeof(Py_ssize_t));
    PyObject **values = PyMem_Calloc(count ? count : 1, sizeof(PyObject *));
    Share *distinct = PyMem_Calloc(count ? count : 1, sizeof(Share));
    Py_ssize_t *dicts = PyMem_Calloc(count ? count : 1, sizeof(Py_ssize_t)), distinct_count = 0, dict_count = 0;
    if (offsets == NULL || values == NULL || distinct == NULL || dicts == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        if (slot_offset(type, PySequence_Fast_GET_ITEM(names, i), &offsets[i]) < 0) {
            goto error;
        }
        first = Py_MIN(first, offsets[i]);
        last = Py_MAX(last, offsets[i]);
    }
    if (count && last - first != (count - 1) * (Py_ssize_t)sizeof(PyObject *)) {
        PyErr_SetString(PyExc_TypeError, "the context's slots are not contiguous");
        goto error;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *value = SLOT(prototype, offsets[i]);
        if (value != NULL && PyDict_CheckExact(value)) {
            if (PyDict_GET_SIZE(value) != 0) {
                PyErr_Format(PyExc_TypeError, "field %R starts as a non-empty dict", PySequence_Fast_GET_ITEM(names, i));
                goto error;
            }
            dicts[dict_count++] = offsets[i];
            continue;
        }
        values[(offsets[i] - first) / (Py_ssize_t)sizeof(PyObject *)] = value;
        Py_ssize_t k = 0;
        while (value != NULL && k < distinct_count && distinct[k].value != value) {
            k++;
        }
        if (value != NULL && k == distinct_count) {
            distinct[distinct_count++].value = Py_NewRef(value);
        }
        if (value != NULL) {
            distinct[k].uses++;
        }
    }
    if (named_offset(type, "app", &off_app) < 0 || named_offset(type, "scope", &off_scope) < 0 ||
        named_offset(type, "receive", &off_receive) < 0 || named_offset(type, "_send", &off_send) < 0 ||
        named_offset(type, "_status", &off_status) < 0 || named_offset(type, "_headers", &off_headers) < 0 ||
        named_offset(type, "_header_sent", &off_header_sent) < 0 || named_offset(type, "respond", &off_respond) < 0 ||
        named_offset(type, "_ended", &off_ended) < 0 || named_offset(type, "_body", &off_body) < 0 ||
        named_offset(type, "_method", &off_method) < 0 || named_offset(type, "_pending", &off_pending) < 0 ||
        named_offset(type, "_pending_by", &off_pending_by) < 0 || named_offset(type, "_finished", &off_finished) < 0 ||
        named_offset(type, "_explicit_status", &off_explicit_status) < 0 ||
        named_offset(type, "_message", &off_message) < 0) {
        goto error;
    }
    image = values;
    image_start = count ? first : 0;
    image_count = count;
    shares = distinct;
    share_count = distinct_count;
    fresh_dicts = dicts;
    fresh_count = dict_count;
    PyMem_Free(offsets);
    Py_DECREF(names);
    context_type = (PyTypeObject *)Py_NewRef(type);
    encoded_names = Py_NewRef(args[2]);
    Py_RETURN_NONE;

error:
    for (Py_ssize_t i = 0; distinct != NULL && i < distinct_count; i++) {
        Py_DECREF(distinct[i].value);
    }
    PyMem_Free(offsets);
    PyMem_Free(values);
    PyMem_Free(distinct);
    PyMem_Free(dicts);
    Py_DECREF(names);
    return NULL;
}

/* -- a new context ------------------------------------------------------------------ */

/* ContextFactory(cls)(app, scope, receive, send): `cls(app, scope, receive, send)` for a
 * subclass of the bound Context that keeps its `__init__`, without running Python code:
 * one allocation and a store per field.
 *
 * It also keeps a few finished contexts to make the next ones from (`release()`): a context
 * nothing else refers to, with no attribute set outside its slots, is reset to the image in
 * place, which costs a fraction of freeing 37 fields through CPython's generic deallocation
 * and allocating again. */
#define POOL_SIZE 16
#define POOL_FIELDS 64

typedef struct {
    PyObject_HEAD
    PyTypeObject *cls;
    vectorcallfunc vectorcall;
    int reusable;          /* cls's instances hold nothing outside the image's fields */
    Py_ssize_t pooled;
    PyObject *pool[POOL_SIZE];
} ContextFactory;

static PyTypeObject ContextFactoryType;

/* The views a context makes of itself (`ctx.request`, `ctx.response`, `ctx.cookies`): each
 * refers back to it, so a context that used one is in a cycle with it. */
#define VIEWS 4
static struct {
    Py_ssize_t field;   /* the context's slot holding the view */
    PyTypeObject *type; /* the view's class */
    Py_ssize_t back;    /* the view's slot holding the context */
} views[VIEWS];
static Py_ssize_t view_count = 0;

/* bind_views(((field, cls, back), ...)): the context's views and how each refers back. */
static PyObject *
bind_views(PyObject *module, PyObject *specs)
{
    PyObject *items = PySequence_Fast(specs, "bind_views takes a sequence of (field, cls, back)");
    if (items == NULL) {
        return NULL;
    }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(items), done = 0;
    if (context_type == NULL || count > VIEWS) {
        PyErr_SetString(PyExc_TypeError, "bind_views() takes up to 4 views, once bind() has run");
        Py_DECREF(items);
        return NULL;
    }
    for (; done < count; done++) {
        PyObject *spec = PySequence_Fast_GET_ITEM(items, done), *field, *back;
        PyTypeObject *type;
        if (!PyArg_ParseTuple(spec, "UO!U:bind_views", &field, &PyType_Type, &type, &back) ||
            slot_offset(context_type, field, &views[done].field) < 0 || slot_offset(type, back, &views[done].back) < 0) {
            break;
        }
        Py_XSETREF(views[done].type, (PyTypeObject *)Py_NewRef(type));
    }
    Py_DECREF(items);
    view_count = done == count ? count : 0;
    return done == count ? Py_NewRef(Py_None) : NULL;
}

/* How many references ctx's own views hold to it, counting only views nothing else holds:
 * with them, a context nothing else refers to has that many references more than one. */
static Py_ssize_t
own_views(PyObject *ctx)
{
    Py_ssize_t found = 0;
    for (Py_ssize_t i = 0; i < view_count; i++) {
        PyObject *view = SLOT(ctx, views[i].field);
        found += view != NULL && Py_REFCNT(view) == 1 && PyObject_TypeCheck(view, views[i].type) &&
                 SLOT(view, views[i].back) == ctx;
    }
    return found;
}

/* A new context's fields: the image, with a reference per use of each distinct value added at once. */
static void
fill_from_image(PyObject *ctx)
{
    memcpy((char *)ctx + image_start, image, image_count * sizeof(PyObject *));
    for (Py_ssize_t i = 0; i < share_count; i++) {
#ifdef Py_REF_DEBUG
        for (Py_ssize_t k = 0; k < shares[i].uses; k++) {
            Py_INCREF(shares[i].value);
        }
#else
        Py_SET_REFCNT(shares[i].value, Py_REFCNT(shares[i].value) + shares[i].uses);
#endif
    }
}

static PyObject *
factory_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    ContextFactory *factory = (ContextFactory *)self;
    PyTypeObject *cls = factory->cls;
    if (PyVectorcall_NARGS(nargsf) != 4 || kwnames != NULL) {
        PyErr_SetString(PyExc_TypeError, "a context is made from (app, scope, receive, send)");
        return NULL;
    }
    PyObject *ctx;
    if (factory->pooled > 0) {
        ctx = factory->pool[--factory->pooled]; /* hot path: reset when it was released */
    }
    else {
        ctx = cls->tp_alloc(cls, 0);
        if (ctx == NULL) {
            return NULL;
        }
        fill_from_image(ctx);
        for (Py_ssize_t i = 0; i < fresh_count; i++) {
            PyObject *dict = PyDict_New();
            if (dict == NULL) {
                Py_DECREF(ctx);
                return NULL;
            }
            SLOT(ctx, fresh_dicts[i]) = dict;
        }
    }
    Py_XSETREF(SLOT(ctx, off_app), Py_NewRef(args[0]));
    Py_XSETREF(SLOT(ctx, off_scope), Py_NewRef(args[1]));
    Py_XSETREF(SLOT(ctx, off_receive), Py_NewRef(args[2]));
    Py_XSETREF(SLOT(ctx, off_send), Py_NewRef(args[3]));
    return ctx;
}

/* Whether cls's instances keep their dict before the object, where CPython 3.11 puts it
 * (and its values) for a class without __slots__; later versions are not looked into. */
static int
dict_before(PyTypeObject *cls)
{
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
    return PyType_HasFeature(cls, Py_TPFLAGS_MANAGED_DICT);
#else
    return 0;
#endif
}

/* Whether cls's instances are the image's fields and nothing else, besides an instance
 * dict and a weakref list that release() can see are empty. */
static int
plain_layout(PyTypeObject *cls)
{
    Py_ssize_t end = image_start + image_count * (Py_ssize_t)sizeof(PyObject *), extra = 0;
    if (image_start != (Py_ssize_t)sizeof(PyObject) || image_count > POOL_FIELDS || cls->tp_itemsize != 0) {
        return 0;
    }
#if PY_VERSION_HEX >= 0x030C0000
    if (PyType_HasFeature(cls, Py_TPFLAGS_MANAGED_DICT | Py_TPFLAGS_MANAGED_WEAKREF)) {
        return 0; /* their layout is CPython's own business from 3.12 on */
    }
#endif
    if (!dict_before(cls)) {
        if (cls->tp_dictoffset != 0 && (cls->tp_dictoffset < end || cls->tp_dictoffset >= cls->tp_basicsize)) {
            return 0;
        }
        extra += cls->tp_dictoffset != 0;
    }
    if (cls->tp_weaklistoffset != 0 && (cls->tp_weaklistoffset < end || cls->tp_weaklistoffset >= cls->tp_basicsize)) {
        return 0;
    }
    extra += cls->tp_weaklistoffset != 0;
    return cls->tp_basicsize == end + extra * (Py_ssize_t)sizeof(PyObject *);
}

/* Whether ctx can be reset and made again: only the caller and its own views refer to it, and no attribute,
 * weak reference or finalizer (a `__del__` added to the class later) was given to it. */
static int
idle(ContextFactory *factory, PyObject *ctx)
{
    PyTypeObject *cls = factory->cls;
    if (!factory->reusable || Py_TYPE(ctx) != cls || cls->tp_finalize != NULL || factory->pooled == POOL_SIZE ||
        (Py_REFCNT(ctx) != 1 && Py_REFCNT(ctx) != 1 + own_views(ctx))) {
        return 0;
    }
    if (cls->tp_weaklistoffset != 0 && SLOT(ctx, cls->tp_weaklistoffset) != NULL) {
        return 0;
    }
    if (dict_before(cls)) { /* the dict, then its values, precede the object */
        return ((PyObject **)ctx)[-3] == NULL && ((PyObject **)ctx)[-4] == NULL;
    }
    return cls->tp_dictoffset == 0 || SLOT(ctx, cls->tp_dictoffset) == NULL;
}

/* The end of a context the factory made; steals it. */
static void
release(ContextFactory *factory, PyObject *ctx)
{
    if (!idle(factory, ctx)) {
        Py_DECREF(ctx);
        return;
    }
    /* Hot path: the image copied over the fields, whose old values are dropped after; the
     * fresh dicts are kept, emptied, when nothing else has them. */
    PyObject *old[POOL_FIELDS];
    memcpy(old, (char *)ctx + image_start, image_count * sizeof(PyObject *));
    fill_from_image(ctx);
    for (Py_ssize_t i = 0; i < fresh_count && ctx != NULL; i++) {
        PyObject **was = &old[(fresh_dicts[i] - image_start) / (Py_ssize_t)sizeof(PyObject *)], *dict = *was;
        if (dict != NULL && PyDict_CheckExact(dict) && Py_REFCNT(dict) == 1) {
            *was = NULL;
            PyDict_Clear(dict);
        }
        else if ((dict = PyDict_New()) == NULL) {
            PyErr_Clear(); /* freed below instead: no context is made without its dicts */
            Py_SETREF(ctx, NULL);
            break;
        }
        SLOT(ctx, fresh_dicts[i]) = dict;
    }
    /* The old values go last (its views among them, which let go of ctx): a finalizer they
     * run may release another context first. */
    for (Py_ssize_t i = 0; i < image_count; i++) {
        Py_XDECREF(old[i]);
    }
    if (ctx != NULL && Py_REFCNT(ctx) == 1 && factory->pooled < POOL_SIZE) {
        factory->pool[factory->pooled++] = ctx;
    }
    else {
        Py_XDECREF(ctx);
    }
}

static PyObject *
factory_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *cls;
    if (!PyArg_ParseTuple(args, "O!:ContextFactory", &PyType_Type, &cls)) {
        return NULL;
    }
    if (context_type == NULL || !PyType_IsSubtype((PyTypeObject *)cls, context_type)) {
        PyErr_Format(PyExc_TypeError, "%R is not a subclass of the bound Context", cls);
        return NULL;
    }
    ContextFactory *self = (ContextFactory *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->cls = (PyTypeObject *)Py_NewRef(cls);
    self->vectorcall = factory_vectorcall;
    self->reusable = plain_layout((PyTypeObject *)cls);
    self->pooled = 0;
    return (PyObject *)self;
}

static void
factory_dealloc(ContextFactory *self)
{
    while (self->pooled > 0) {
        Py_DECREF(self->pool[--self->pooled]);
    }
    Py_XDECREF(self->cls);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMemberDef factory_members[] = {
    {"pooled", T_PYSSIZET, offsetof(ContextFactory, pooled), READONLY, "finished contexts kept to be made again"},
    {"reusable", T_INT, offsetof(ContextFactory, reusable), READONLY, "whether the class's contexts can be kept"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject ContextFactoryType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "aiokoa._speedups.ContextFactory",
    .tp_basicsize = sizeof(ContextFactory),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_vectorcall_offset = offsetof(ContextFactory, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_new = factory_new,
    .tp_dealloc = (destructor)factory_dealloc,
    .tp_members = factory_members,
    .tp_doc = "ContextFactory(cls)(app, scope, receive, send): a new context of class cls",
};

/* -- ctx.body = ... ------------------------------------------------------------------ */

static PyObject *body_setter = NULL, *type_html, *type_text, *type_binary, *looks_like_html;

/* bind_body(setter, HTML, TEXT, BINARY, looks_like_html): response.py's setter and types. */
static PyObject *
bind_body(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5 || !PyCallable_Check(args[0]) || !PyUnicode_Check(args[1]) || !PyUnicode_Check(args[2]) ||
        !PyUnicode_Check(args[3]) || !PyCallable_Check(args[4])) {
        PyErr_SetString(PyExc_TypeError, "bind_body(setter, HTML, TEXT, BINARY, looks_like_html)");
        return NULL;
    }
    Py_XSETREF(body_setter, Py_NewRef(args[0]));
    Py_XSETREF(type_html, Py_NewRef(args[1]));
    Py_XSETREF(type_text, Py_NewRef(args[2]));
    Py_XSETREF(type_binary, Py_NewRef(args[3]));
    Py_XSETREF(looks_like_html, Py_NewRef(args[4]));
    Py_RETURN_NONE;
}

/* A body C can replace without closing it first: nothing, or one that is not a stream. */
static int
plain_body(PyObject *body)
{
    return body == Py_None || PyUnicode_CheckExact(body) || PyBytes_CheckExact(body) || PyDict_CheckExact(body) ||
           PyList_CheckExact(body);
}

static PyObject *
text_type(PyObject *text)
{
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    Py_UCS4 first = length ? PyUnicode_READ_CHAR(text, 0) : 0;
    if (first == '<') {
        return Py_NewRef(type_html);
    }
    if (!length || !Py_UNICODE_ISSPACE(first)) {
        return Py_NewRef(type_text);
    }
    PyObject *html = PyObject_CallOneArg(looks_like_html, text); /* Koa's /^\s*</ */
    if (html == NULL) {
        return NULL;
    }
    int yes = PyObject_IsTrue(html);
    Py_DECREF(html);
    return yes < 0 ? NULL : Py_NewRef(yes ? type_html : type_text);
}

static int
set_header(PyObject *headers, PyObject *name, PyObject *value)
{
    if (value == NULL) {
        return -1;
    }
    int result = PyDict_SetItem(headers, name, value);
    Py_DECREF(value);
    return result;
}

/* set_body(ctx, value): ResponseMixin's `body` setter for a str or bytes body (status 200
 * unless set, Content-Type unless set, Content-Length); other cases call the Python one. */
static PyObject *
set_body(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || body_setter == NULL) {
        PyErr_SetString(PyExc_TypeError, "set_body(ctx, value)");
        return NULL;
    }
    PyObject *ctx = args[0], *value = args[1];
    int text = PyUnicode_CheckExact(value);
    if (!is_context(ctx) || !(text || PyBytes_CheckExact(value)) || SLOT(ctx, off_finished) != Py_False ||
        SLOT(ctx, off_body) == NULL || !plain_body(SLOT(ctx, off_body)) || SLOT(ctx, off_headers) == NULL ||
        !PyDict_CheckExact(SLOT(ctx, off_headers)) || SLOT(ctx, off_explicit_status) == NULL) {
        return PyObject_Vectorcall(body_setter, args, 2, NULL);
    }
    PyObject *headers = SLOT(ctx, off_headers);
    int explicit_status = PyObject_IsTrue(SLOT(ctx, off_explicit_status));
    int empty = PyDict_GET_SIZE(headers) == 0; /* as usual: no lookups */
    int has_type = empty ? 0 : PyDict_Contains(headers, s_content_type);
    int chunked = empty ? 0 : PyDict_Contains(headers, s_transfer_encoding);
    if (explicit_status < 0 || has_type < 0 || chunked < 0) {
        return NULL;
    }
    Py_SETREF(SLOT(ctx, off_body), Py_NewRef(value));
    if (!explicit_status) {
        Py_XSETREF(SLOT(ctx, off_status), Py_NewRef(status_ok));
        Py_XSETREF(SLOT(ctx, off_explicit_status), Py_NewRef(Py_True));
        Py_XSETREF(SLOT(ctx, off_message), Py_NewRef(Py_None));
    }
    if (!has_type && set_header(headers, s_content_type, text ? text_type(value) : Py_NewRef(type_binary)) < 0) {
        return NULL;
    }
    if (!chunked) {
        Py_ssize_t length = PyBytes_Check(value) ? PyBytes_GET_SIZE(value) : PyUnicode_GET_LENGTH(value);
        if (text && !PyUnicode_IS_ASCII(value) && PyUnicode_AsUTF8AndSize(value, &length) == NULL) {
            return NULL;
        }
        if (set_header(headers, s_content_length, PyLong_FromSsize_t(length)) < 0) {
            return NULL;
        }
    }
    Py_RETURN_NONE;
}

/* -- the chain (compose.chain) ------------------------------------------------------ */

/* compose._compiled generates, per chain length, a `Run` class whose method `s{k}` is the
 * `next` given to layer k-1; here one C type does it for every length. Per request: one
 * Run, and one Next per layer reached, as Python makes one bound method per layer. */

typedef struct {
    PyObject_HEAD
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

static PyTypeObject ChainType, RunType, NextType;

/* ctx.<name> = value, through the slot when ctx is a Context (compose() takes any object). */
static int
set_field(PyObject *ctx, Py_ssize_t offset, PyObject *name, PyObject *value)
{
    if (is_context(ctx)) {
        Py_XSETREF(SLOT(ctx, offset), Py_NewRef(value));
        return 0;
    }
    return PyObject_SetAttr(ctx, name, value);
}

static int
finished(PyObject *ctx)
{
    if (is_context(ctx) && SLOT(ctx, off_finished) != NULL) {
        return PyObject_IsTrue(SLOT(ctx, off_finished));
    }
    PyObject *value = PyObject_GetAttr(ctx, s_finished);
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
    Next *next = PyObject_GC_New(Next, &NextType);
    if (next == NULL) {
        return NULL;
    }
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
    PyObject *fns = chain->fns;
    Py_ssize_t layers = PyTuple_GET_SIZE(fns);
    PyObject *caller = PyTuple_GET_ITEM(fns, k - 1);
    if (k <= run->index) {
        return raise_made(chain->twice, &caller, 1);
    }
    run->index = k;
    PyObject *ctx = run->ctx;
    if (chain->late) {
        int done = finished(ctx);
        if (done < 0) {
            return NULL;
        }
        if (done) {
            PyObject *args[2] = {ctx, caller};
            return raise_made(chain->late_error, args, 2);
        }
    }
    if (k == layers) {
        return run->outer == Py_None ? Py_NewRef(chain->done) : PyObject_CallNoArgs(run->outer);
    }
    PyObject *next = new_next(run, k + 1);
    if (next == NULL) {
        return NULL;
    }
    PyObject *args[2] = {ctx, next};
    PyObject *awaitable = PyObject_Vectorcall(PyTuple_GET_ITEM(fns, k), args, 2, NULL);
    Py_DECREF(next);
    if (awaitable == NULL || set_field(ctx, off_pending, s_pending, awaitable) < 0 ||
        set_field(ctx, off_pending_by, s_pending_by, caller) < 0) {
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
    return no_arguments(nargsf, kwnames) ? step(next->run, next->k) : NULL;
}

static int
next_traverse(Next *self, visitproc visit, void *arg)
{
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
    PyObject_GC_UnTrack(self);
    next_clear(self);
    PyObject_GC_Del(self);
}

static PyObject *
next_repr(Next *self)
{
    return PyUnicode_FromFormat("<next() of layer %zd of %R>", self->k - 1, self->run ? (PyObject *)self->run->chain : Py_None);
}

static PyTypeObject NextType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "aiokoa._speedups.Next",
    .tp_basicsize = sizeof(Next),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_vectorcall_offset = offsetof(Next, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_traverse = (traverseproc)next_traverse,
    .tp_clear = (inquiry)next_clear,
    .tp_dealloc = (destructor)next_dealloc,
    .tp_repr = (reprfunc)next_repr,
    .tp_doc = "The next() a middleware is given: runs everything downstream of it",
};

static int
run_traverse(Run *self, visitproc visit, void *arg)
{
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
    PyObject_GC_UnTrack(self);
    run_clear(self);
    PyObject_GC_Del(self);
}

static PyObject *
run_repr(Run *self)
{
    return PyUnicode_FromFormat("<next() of layer 0 of %R>", self->chain ? (PyObject *)self->chain : Py_None);
}

static PyObject *
run_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    return no_arguments(nargsf, kwnames) ? step((Run *)self, 1) : NULL;
}

static PyTypeObject RunType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "aiokoa._speedups.Run",
    .tp_basicsize = sizeof(Run),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_vectorcall_offset = offsetof(Run, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_traverse = (traverseproc)run_traverse,
    .tp_clear = (inquiry)run_clear,
    .tp_dealloc = (destructor)run_dealloc,
    .tp_repr = (reprfunc)run_repr,
    .tp_doc = "One request's pass through a chain, and the next() of its first layer",
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
    Run *run = PyObject_GC_New(Run, &RunType);
    if (run == NULL) {
        return NULL;
    }
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
    PyObject *fns, *twice, *late_error, *done;
    int late;
    if (!PyArg_ParseTuple(args, "O!pOOO:Chain", &PyTuple_Type, &fns, &late, &twice, &late_error, &done)) {
        return NULL;
    }
    Chain *self = PyObject_GC_New(Chain, type);
    if (self == NULL) {
        return NULL;
    }
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
    PyObject_GC_UnTrack(self);
    chain_clear(self);
    PyObject_GC_Del(self);
}

static PyObject *
chain_repr(Chain *self)
{
    return PyUnicode_FromFormat("<aiokoa chain of %zd%s>", self->fns ? PyTuple_GET_SIZE(self->fns) : 0,
                                self->late ? " (checked)" : "");
}

static PyMemberDef chain_members[] = {
    {"layers", T_OBJECT, offsetof(Chain, fns), READONLY, "the middleware, in order"},
    {NULL},
};

static PyTypeObject ChainType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "aiokoa._speedups.Chain",
    .tp_basicsize = sizeof(Chain),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_vectorcall_offset = offsetof(Chain, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_new = chain_new,
    .tp_traverse = (traverseproc)chain_traverse,
    .tp_clear = (inquiry)chain_clear,
    .tp_dealloc = (destructor)chain_dealloc,
    .tp_repr = (reprfunc)chain_repr,
    .tp_members = chain_members,
    .tp_doc = "Chain(fns, late, twice, late_error, done)(ctx, outer): compose.chain's step",
};

/* -- the start message -------------------------------------------------------------- */

/* A header value as bytes: a str as Latin-1; with `number`, an int in decimal (True as 1,
 * like b"%d"); anything else as str(value). */
static PyObject *
latin1(PyObject *value, int number)
{
    if (PyUnicode_CheckExact(value) && PyUnicode_IS_ASCII(value)) {
        return PyBytes_FromStringAndSize(PyUnicode_DATA(value), PyUnicode_GET_LENGTH(value));
    }
    if (number && PyLong_CheckExact(value)) { /* Content-Length: no str on the way */
        Py_ssize_t n = PyLong_AsSsize_t(value);
        if (n >= 0) {
            char digits[24], *first = digits + sizeof digits;
            do {
                *--first = (char)('0' + n % 10);
                n /= 10;
            } while (n);
            return PyBytes_FromStringAndSize(first, digits + sizeof digits - first);
        }
        PyErr_Clear();
    }
    if (PyUnicode_Check(value)) {
        return PyUnicode_AsLatin1String(value);
    }
    PyObject *text = number ? PyNumber_ToBase(value, 10) : PyObject_Str(value);
    if (text == NULL) {
        return NULL;
    }
    PyObject *encoded = PyUnicode_AsLatin1String(text);
    Py_DECREF(text);
    return encoded;
}

static int
append_pair(PyObject *raw, PyObject *key, PyObject *value)
{
    if (value == NULL) {
        return -1;
    }
    PyObject *pair = PyTuple_Pack(2, key, value);
    Py_DECREF(value);
    if (pair == NULL) {
        return -1;
    }
    int result = PyList_Append(raw, pair);
    Py_DECREF(pair);
    return result;
}

static PyObject *
encoded_name(PyObject *name)
{
    PyObject *key = PyDict_GetItemWithError(encoded_names, name);
    if (key != NULL) {
        return Py_NewRef(key);
    }
    if (PyErr_Occurred() || !PyUnicode_Check(name)) {
        return PyErr_Occurred() ? NULL : latin1(name, 0);
    }
    key = PyUnicode_AsLatin1String(name);
    if (key != NULL && PyDict_GET_SIZE(encoded_names) < NAME_CACHE_LIMIT &&
        PyDict_SetItem(encoded_names, name, key) < 0) {
        Py_CLEAR(key);
    }
    return key;
}

/* The (name, value) pairs seen last, by identity, for a str name and a str or int value
 * (immutable both): the same two objects (a constant Content-Type, a header set from a
 * literal, a small Content-Length) give the same pair, built once. The cache holds its
 * keys, so an address cannot be reused by another object. */
#define PAIR_CACHE 32
/* (name, value) -> the ASGI header pair, by identity: two places per key, so that two headers
 * an app always sends cannot keep evicting each other. */
static struct {
    PyObject *name, *value, *pair;
} pair_cache[PAIR_CACHE];

static int
append_cached_pair(PyObject *raw, PyObject *name, PyObject *value)
{
    size_t slot = (((uintptr_t)name >> 4) ^ ((uintptr_t)value >> 4)) % PAIR_CACHE, other = slot ^ 1;
    if (PyUnicode_CheckExact(value) && PyUnicode_GET_LENGTH(value) > 256) { /* not kept alive by the cache */
        PyObject *key = encoded_name(name);
        int result = key == NULL ? -1 : append_pair(raw, key, latin1(value, 1));
        Py_XDECREF(key);
        return result;
    }
    if (pair_cache[other].name == name && pair_cache[other].value == value) {
        slot = other;
    }
    else if (pair_cache[slot].name != name || pair_cache[slot].value != value) {
        PyObject *key = encoded_name(name);
        PyObject *bytes = key == NULL ? NULL : latin1(value, 1);
        PyObject *pair = bytes == NULL ? NULL : PyTuple_Pack(2, key, bytes);
        Py_XDECREF(key);
        Py_XDECREF(bytes);
        if (pair == NULL) {
            return -1;
        }
        if (pair_cache[slot].pair != NULL) { /* the one it replaces moves to the other place */
            Py_XDECREF(pair_cache[other].name);
            Py_XDECREF(pair_cache[other].value);
            Py_XDECREF(pair_cache[other].pair);
            pair_cache[other] = pair_cache[slot];
        }
        pair_cache[slot].name = Py_NewRef(name);
        pair_cache[slot].value = Py_NewRef(value);
        pair_cache[slot].pair = pair;
    }
    return PyList_Append(raw, pair_cache[slot].pair);
}

/* The ASGI headers of `ctx._headers`, as `ResponseMixin._raw_headers` makes them. */
static PyObject *
raw_headers(PyObject *headers)
{
    if (!PyDict_Check(headers)) {
        PyErr_SetString(PyExc_TypeError, "ctx._headers must be a dict");
        return NULL;
    }
    PyObject *raw = PyList_New(0);
    if (raw == NULL) {
        return NULL;
    }
    Py_ssize_t pos = 0;
    PyObject *name, *value;
    while (PyDict_Next(headers, &pos, &name, &value)) {
        if (PyUnicode_CheckExact(name) && (PyUnicode_CheckExact(value) || PyLong_CheckExact(value))) {
            if (append_cached_pair(raw, name, value) < 0) {
                goto error;
            }
            continue;
        }
        PyObject *key = encoded_name(name);
        if (key == NULL) {
            goto error;
        }
        int failed;
        if (PyUnicode_Check(value) || PyLong_Check(value)) {
            failed = append_pair(raw, key, latin1(value, 1));
        }
        else {
            failed = 0;
            PyObject *items = PyObject_GetIter(value);
            PyObject *item;
            if (items == NULL) {
                failed = -1;
            }
            while (!failed && (item = PyIter_Next(items)) != NULL) {
                failed = append_pair(raw, key, latin1(item, 0));
                Py_DECREF(item);
            }
            if (!failed && PyErr_Occurred()) {
                failed = -1;
            }
            Py_XDECREF(items);
        }
        Py_DECREF(key);
        if (failed) {
            goto error;
        }
    }
    return raw;

error:
    Py_DECREF(raw);
    return NULL;
}

/* start_message(ctx): `ctx._start_message()`: marks the headers sent, returns the message. */
static PyObject *
start_message(PyObject *module, PyObject *ctx)
{
    if (context_type == NULL || !PyObject_TypeCheck(ctx, context_type)) {
        PyErr_SetString(PyExc_TypeError, "start_message() takes a context");
        return NULL;
    }
    PyObject *status = SLOT(ctx, off_status);
    PyObject *headers = SLOT(ctx, off_headers);
    if (status == NULL || headers == NULL) {
        PyErr_SetString(PyExc_AttributeError, "the context has no status or headers");
        return NULL;
    }
    PyObject *raw = raw_headers(headers);
    if (raw == NULL) {
        return NULL;
    }
    PyObject *message = PyDict_New();
    if (message == NULL || PyDict_SetItem(message, s_type, s_start) < 0 ||
        PyDict_SetItem(message, s_status, status) < 0 || PyDict_SetItem(message, s_headers, raw) < 0) {
        Py_XDECREF(message);
        Py_DECREF(raw);
        return NULL;
    }
    Py_DECREF(raw);
    Py_XSETREF(SLOT(ctx, off_header_sent), Py_NewRef(Py_True));
    return message;
}

/* -- respond() ---------------------------------------------------------------------- */

static PyObject *respond_python = NULL, *empty_statuses = NULL, *json_dumps = NULL;

/* bind_respond(respond, EMPTY, dumps): respond.py's function, for all but the usual cases. */
static PyObject *
bind_respond(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyCallable_Check(args[0]) || !PyAnySet_Check(args[1]) || !PyCallable_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "bind_respond(respond, EMPTY, dumps)");
        return NULL;
    }
    Py_XSETREF(respond_python, Py_NewRef(args[0]));
    Py_XSETREF(empty_statuses, Py_NewRef(args[1]));
    Py_XSETREF(json_dumps, Py_NewRef(args[2]));
    Py_RETURN_NONE;
}

/* respond(ctx): respond.respond for a GET-like request whose body is str, bytes, a dict
 * or a list (its JSON); everything else is left to the Python function. */
static PyObject *
respond(PyObject *module, PyObject *ctx)
{
    if (respond_python == NULL || context_type == NULL || !PyObject_TypeCheck(ctx, context_type)) {
        PyErr_SetString(PyExc_TypeError, "respond() takes a context");
        return NULL;
    }
    PyObject *method = SLOT(ctx, off_method);
    PyObject *scope = SLOT(ctx, off_scope);
    if (method == Py_None && scope != NULL && PyDict_CheckExact(scope)) {
        method = PyDict_GetItemWithError(scope, s_method);
    }
    PyObject *status = SLOT(ctx, off_status);
    PyObject *body = SLOT(ctx, off_body);
    PyObject *headers = SLOT(ctx, off_headers);
    int usual = SLOT(ctx, off_respond) == Py_True && SLOT(ctx, off_ended) == Py_False && body != NULL &&
                status != NULL && PyLong_CheckExact(status) && headers != NULL && PyDict_CheckExact(headers) &&
                method != NULL && PyUnicode_CheckExact(method) &&
                (PyUnicode_GET_LENGTH(method) != 4 || PyUnicode_Compare(method, s_head) != 0);
    if (usual && status != status_ok) {
        int empty = PySet_Contains(empty_statuses, status);
        if (empty < 0) {
            return NULL;
        }
        usual = !empty;
    }
    if (!usual) {
        return PyErr_Occurred() ? NULL : PyObject_CallOneArg(respond_python, ctx);
    }
    if (PyUnicode_CheckExact(body)) {
        return PyUnicode_AsUTF8String(body);
    }
    if (PyBytes_CheckExact(body)) {
        return Py_NewRef(body);
    }
    if (!PyDict_CheckExact(body) && !PyList_CheckExact(body)) {
        return PyObject_CallOneArg(respond_python, ctx);
    }
    PyObject *data = PyObject_CallOneArg(json_dumps, body);
    if (data == NULL || SLOT(ctx, off_header_sent) != Py_False) {
        return data;
    }
    PyObject *length = PyObject_Size(data) < 0 ? NULL : PyLong_FromSsize_t(PyObject_Size(data));
    if (length == NULL || PyDict_SetItem(headers, s_content_length, length) < 0) {
        Py_XDECREF(length);
        Py_DECREF(data);
        return NULL;
    }
    Py_DECREF(length);
    return data;
}

/* finish's work: respond(), then the messages of a complete body. Returns 1 with the start
 * message (None once the headers are out) in *out and the body message in *end; 0 with
 * what respond() returned in *out when that is not bytes (None, a stream's awaitable). */
static int
finish_parts(PyObject *ctx, PyObject **out, PyObject **end)
{
    *out = *end = NULL;
    Py_XSETREF(SLOT(ctx, off_finished), Py_NewRef(Py_True));
    PyObject *body = respond(NULL, ctx);
    if (body == NULL || !PyBytes_CheckExact(body)) {
        *out = body;
        return body == NULL ? -1 : 0;
    }
    int sent = SLOT(ctx, off_header_sent) == NULL ? -1 : PyObject_IsTrue(SLOT(ctx, off_header_sent));
    PyObject *start = sent < 0 ? NULL : sent ? Py_NewRef(Py_None) : start_message(NULL, ctx);
    PyObject *message = start == NULL ? NULL : PyDict_New();
    if (message == NULL || PyDict_SetItem(message, s_type, s_end) < 0 || PyDict_SetItem(message, s_body, body) < 0) {
        if (sent < 0 && !PyErr_Occurred()) {
            PyErr_SetString(PyExc_AttributeError, "the context has no _header_sent");
        }
        Py_XDECREF(start);
        Py_XDECREF(message);
        Py_DECREF(body);
        return -1;
    }
    Py_DECREF(body);
    Py_XSETREF(SLOT(ctx, off_ended), Py_NewRef(Py_True));
    *out = start;
    *end = message;
    return 1;
}

/* finish(ctx): respond.finish: the response's (start, body) messages, or what respond()
 * returned when that is not a complete body (None, or a stream's awaitable). */
static PyObject *
finish(PyObject *module, PyObject *ctx)
{
    if (!is_context(ctx)) {
        PyErr_SetString(PyExc_TypeError, "finish() takes a context");
        return NULL;
    }
    PyObject *out, *end;
    int made = finish_parts(ctx, &out, &end);
    if (made <= 0) {
        return out;
    }
    PyObject *messages = PyTuple_Pack(2, out, end);
    Py_DECREF(out);
    Py_DECREF(end);
    return messages;
}

/* -- Koa.__call__ ------------------------------------------------------------------ */

/* The C twin of `Koa.__call__`, installed as the class's call slot by `serve_in_c()`: the
 * Python method stays in the class (what `app.__call__` and introspection see, and the
 * reference), but calling an app makes one Serve object instead of a coroutine frame. A
 * Serve is a coroutine written as a state machine: it drives the chain, then the two
 * sends. It is also the next() of layer 0 (its first fields are a Run): one object fewer. */

enum { FRESH, CHAIN, STREAM, START, END, TAIL, DONE };

typedef struct {
    Run run;                                  /* first: step() takes a Serve as a Run */
    PyObject *app, *scope, *receive, *send;   /* the call's arguments, until it starts */
    PyObject *inner;                          /* the awaitable being driven */
    PyObject *end;                            /* the body message, while the start is sent */
    PyObject *maker;                          /* what made the context, and takes it back */
    int state, running;
} Serve;

static PyTypeObject ServeType;
static PyTypeObject *app_type = NULL;
static Py_ssize_t off_app_step, off_app_make_context;
static PyObject *serve_python = NULL, *check_downstream = NULL, *failed_python = NULL;
static PyObject *s_http, *s__compose, *s__other, *s___call__, *s_throw, *s_close;

/* bind_serve(Koa, check_downstream, failed): the app's slots, and the Python steps C
 * leaves to Python. */
static PyObject *
bind_serve(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyType_Check(args[0]) || !PyCallable_Check(args[1]) || !PyCallable_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "bind_serve(Koa, check_downstream, failed)");
        return NULL;
    }
    PyTypeObject *cls = (PyTypeObject *)args[0];
    if (named_offset(cls, "_step", &off_app_step) < 0 || named_offset(cls, "_make_context", &off_app_make_context) < 0) {
        return NULL;
    }
    Py_XSETREF(app_type, (PyTypeObject *)Py_NewRef(cls));
    Py_XSETREF(check_downstream, Py_NewRef(args[1]));
    Py_XSETREF(failed_python, Py_NewRef(args[2]));
    Py_RETURN_NONE;
}

/* The iterator `await awaitable` drives (CPython's _PyCoro_GetAwaitableIter); steals it. */
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
    PyObject *send = SLOT(self->run.ctx, off_send); /* ctx._send, which the trace may wrap */
    if (send == NULL) {
        PyErr_SetString(PyExc_AttributeError, "the context has no _send");
        return -1;
    }
    return await_into(self, PyObject_CallOneArg(send, message), state);
}

static int guarded(Serve *self, int code);

/* The start message (None once the headers are out) and the body message; steals both. */
static int
send_messages(Serve *self, PyObject *start, PyObject *end)
{
    int code;
    if (start != Py_None) {
        self->end = end;
        code = send_message(self, start, START);
    }
    else {
        code = send_message(self, end, END);
        Py_DECREF(end);
    }
    Py_DECREF(start);
    return code;
}

/* What finish() or failed() returned: (start, end) to send, None, or a stream; steals it. */
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
    int code = send_messages(self, Py_NewRef(PyTuple_GET_ITEM(out, 0)), Py_NewRef(PyTuple_GET_ITEM(out, 1)));
    Py_DECREF(out);
    return code;
}

/* `except Exception as err:` the error response (respond.failed), with err as the
 * exception being handled, as inside Python's except block. */
static int
failure(Serve *self)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb != NULL) {
        PyException_SetTraceback(value, tb);
    }
    Py_XDECREF(type);
    Py_XDECREF(tb);
    PyObject *handled = PyErr_GetHandledException();
    PyErr_SetHandledException(value);
    PyObject *args[2] = {self->run.ctx, value};
    PyObject *out = PyObject_Vectorcall(failed_python, args, 2, NULL);
    PyErr_SetHandledException(handled);
    Py_XDECREF(handled);
    Py_DECREF(value);
    return out == NULL ? -1 : respond_with(self, out);
}

/* The `try:` of Koa.__call__ covers the chain, the checks after it and a stream. */
static int
guarded(Serve *self, int code)
{
    return code < 0 && PyErr_ExceptionMatches(PyExc_Exception) ? failure(self) : code;
}

static int
chain_returned(Serve *self)
{
    PyObject *ctx = self->run.ctx;
    if (SLOT(ctx, off_pending) != Py_None) {
        PyObject *checked = PyObject_CallOneArg(check_downstream, ctx);
        if (checked == NULL) {
            return -1;
        }
        Py_DECREF(checked);
    }
    PyObject *out, *end;
    int made = finish_parts(ctx, &out, &end);
    return made < 0 ? -1 : made ? send_messages(self, out, end) : respond_with(self, out);
}

/* The start of `Koa.__call__`: other scopes, the context, the chain's first awaitable. */
static int
begin(Serve *self, PyObject *app, PyObject *scope, PyObject *receive, PyObject *send)
{
    PyObject *kind = PyObject_GetItem(scope, s_type);
    int http = kind == NULL                                                     ? -1
               : PyUnicode_CheckExact(kind) && PyUnicode_IS_COMPACT_ASCII(kind) ? PyUnicode_GET_LENGTH(kind) == 4 &&
                                                                                    !memcmp(PyUnicode_DATA(kind), "http", 4)
                                                                              : PyObject_RichCompareBool(kind, s_http, Py_EQ);
    Py_XDECREF(kind);
    if (http <= 0) {
        PyObject *args[4] = {app, scope, receive, send};
        return http < 0 ? -1 : await_into(self, PyObject_VectorcallMethod(s__other, args, 4, NULL), TAIL);
    }
    PyObject *step = Py_XNewRef(SLOT(app, off_app_step)); /* app is a Koa: see serve_in_c */
    int ready = step == NULL ? -1 : PyObject_IsTrue(step);
    if (ready == 0) {
        Py_SETREF(step, PyObject_CallMethodNoArgs(app, s__compose));
    }
    PyObject *make = ready < 0 || step == NULL ? NULL : Py_XNewRef(SLOT(app, off_app_make_context));
    if (make == NULL && !PyErr_Occurred()) {
        PyErr_SetString(PyExc_AttributeError, "the app has no _step or _make_context");
    }
    PyObject *args[4] = {app, scope, receive, send};
    PyObject *ctx = make == NULL ? NULL : PyObject_Vectorcall(make, args, 4, NULL);
    self->maker = make;
    if (ctx != NULL && !is_context(ctx)) {
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
    PyObject *awaitable;
    if (Py_IS_TYPE(step, &ChainType) && PyTuple_GET_SIZE(((Chain *)step)->fns) > 0) {
        awaitable = run_first(&self->run, (Chain *)step); /* as chain_vectorcall, with this as the Run */
    }
    else {
        PyObject *call[2] = {ctx, Py_None};
        awaitable = PyObject_Vectorcall(step, call, 2, NULL);
    }
    Py_DECREF(step);
    return guarded(self, await_into(self, awaitable, CHAIN));
}

/* `inner` has returned (or raised, with `failed`): the next step. */
static int
advance(Serve *self, int failed)
{
    switch (self->state) {
    case CHAIN:
        return guarded(self, failed ? -1 : chain_returned(self));
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

/* Send `arg` into inner, then take every step that does not wait. */
static PySendResult
drive(Serve *self, PyObject *arg, PyObject **result)
{
    for (;;) {
        PyObject *inner = Py_NewRef(self->inner), *value = NULL;
        PySendResult status = PyIter_Send(inner, arg, &value);
        if (status == PYGEN_NEXT) {
            Py_DECREF(inner);
            *result = value;
            return PYGEN_NEXT;
        }
        Py_XDECREF(value);
        if (self->inner == inner) {
            Py_CLEAR(self->inner);
        }
        Py_DECREF(inner);
        int code = advance(self, status == PYGEN_ERROR);
        if (code <= 0) {
            return over(self, code, result);
        }
        arg = Py_None;
    }
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
        status = code <= 0 ? over(self, code, result) : drive(self, Py_None, result);
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
    PyObject *value;
    PySendResult status = serve_am_send(self, Py_None, &value);
    if (status == PYGEN_RETURN) {
        Py_DECREF(value);
        return NULL; /* StopIteration */
    }
    return value;
}

/* raise the exception throw() was given, as Python's coroutine.throw() does */
static void
raise_thrown(PyObject *args)
{
    PyObject *type, *value = Py_None, *tb = NULL;
    if (!PyArg_ParseTuple(args, "O|OO:throw", &type, &value, &tb)) {
        return;
    }
    if (PyExceptionInstance_Check(type)) {
        PyErr_SetObject((PyObject *)Py_TYPE(type), type);
    }
    else if (PyExceptionClass_Check(type)) {
        PyErr_SetObject(type, value);
    }
    else {
        PyErr_SetString(PyExc_TypeError, "exceptions must be classes or instances deriving from BaseException");
    }
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
        over(self, -1, &result);
        raise_thrown(args);
        return NULL;
    }
    self->running = 1;
    PyObject *inner = Py_NewRef(self->inner);
    PyObject *throw = PyObject_GetAttr(inner, s_throw);
    if (throw == NULL && PyErr_ExceptionMatches(PyExc_AttributeError)) {
        PyErr_Clear();
        raise_thrown(args); /* an iterator without throw(): raised at the await */
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
        if (self->inner == inner) {
            Py_CLEAR(self->inner);
        }
        int code = advance(self, failed);
        status = code <= 0 ? over(self, code, &result) : drive(self, Py_None, &result);
    }
    Py_DECREF(inner);
    self->running = 0;
    return returned(status, result);
}

static PyObject *
serve_close(Serve *self, PyObject *unused)
{
    if (!not_running(self)) {
        return NULL;
    }
    PyObject *inner = self->inner, *result = NULL;
    self->inner = NULL;
    over(self, 0, &result);
    Py_DECREF(result);
    if (inner == NULL) {
        Py_RETURN_NONE;
    }
    self->running = 1;
    PyObject *close = PyObject_GetAttr(inner, s_close);
    if (close == NULL && PyErr_ExceptionMatches(PyExc_AttributeError)) {
        PyErr_Clear();
        close = Py_NewRef(Py_None); /* nothing to close */
    }
    result = close == NULL ? NULL : close == Py_None ? Py_NewRef(Py_None) : PyObject_CallNoArgs(close);
    Py_XDECREF(close);
    Py_DECREF(inner);
    self->running = 0;
    if (result == NULL) {
        return NULL;
    }
    Py_DECREF(result);
    Py_RETURN_NONE;
}

static PyObject *
serve_await(PyObject *self)
{
    return Py_NewRef(self);
}

static int
serve_traverse(Serve *self, visitproc visit, void *arg)
{
    Py_VISIT(self->app);
    Py_VISIT(self->scope);
    Py_VISIT(self->receive);
    Py_VISIT(self->send);
    Py_VISIT(self->inner);
    Py_VISIT(self->end);
    Py_VISIT(self->maker);
    return run_traverse(&self->run, visit, arg);
}

static int
serve_clear(Serve *self)
{
    Py_CLEAR(self->app);
    Py_CLEAR(self->scope);
    Py_CLEAR(self->receive);
    Py_CLEAR(self->send);
    Py_CLEAR(self->inner);
    Py_CLEAR(self->end);
    Py_CLEAR(self->maker);
    return run_clear(&self->run);
}

static void
serve_dealloc(Serve *self)
{
    PyObject_GC_UnTrack(self);
    if (self->run.ctx != NULL && self->maker != NULL && Py_IS_TYPE(self->maker, &ContextFactoryType)) {
        PyObject *ctx = self->run.ctx;
        self->run.ctx = NULL;
        release((ContextFactory *)self->maker, ctx);
    }
    serve_clear(self);
    PyObject_GC_Del(self);
}

static PyObject *
serve_repr(Serve *self)
{
    return self->run.chain != NULL ? run_repr(&self->run) : PyUnicode_FromString("<Koa.__call__ coroutine>");
}

static PyAsyncMethods serve_async = {
    .am_await = serve_await,
    .am_send = (sendfunc)serve_am_send,
};

static PyMethodDef serve_methods[] = {
    {"send", (PyCFunction)serve_send, METH_O, "send(value): resume, as coroutine.send"},
    {"throw", (PyCFunction)serve_throw, METH_VARARGS, "throw(exc): raise exc at the await, as coroutine.throw"},
    {"close", (PyCFunction)serve_close, METH_NOARGS, "close(): stop, as coroutine.close"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ServeType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "aiokoa._speedups.Serve",
    .tp_basicsize = sizeof(Serve),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_vectorcall_offset = offsetof(Serve, run.vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_as_async = &serve_async,
    .tp_iternext = (iternextfunc)serve_iternext,
    .tp_methods = serve_methods,
    .tp_traverse = (traverseproc)serve_traverse,
    .tp_clear = (inquiry)serve_clear,
    .tp_dealloc = (destructor)serve_dealloc,
    .tp_repr = (reprfunc)serve_repr,
    .tp_doc = "One call of an app: Koa.__call__ as a coroutine, and the next() of its first layer",
};

/* The call slot of an app class: app(scope, receive, send) */
static PyObject *
serve_call(PyObject *app, PyObject *args, PyObject *kwargs)
{
    if ((kwargs != NULL && PyDict_GET_SIZE(kwargs) != 0) || PyTuple_GET_SIZE(args) != 3) {
        PyObject *bound = PyMethod_New(serve_python, app); /* Python says what is wrong */
        PyObject *result = bound == NULL ? NULL : PyObject_Call(bound, args, kwargs);
        Py_XDECREF(bound);
        return result;
    }
    Serve *self = PyObject_GC_New(Serve, &ServeType);
    if (self == NULL) {
        return NULL;
    }
    self->run.chain = NULL;
    self->run.ctx = NULL;
    self->run.outer = NULL;
    self->run.index = 0;
    self->run.vectorcall = run_vectorcall;
    self->app = Py_NewRef(app);
    self->scope = Py_NewRef(PyTuple_GET_ITEM(args, 0));
    self->receive = Py_NewRef(PyTuple_GET_ITEM(args, 1));
    self->send = Py_NewRef(PyTuple_GET_ITEM(args, 2));
    self->inner = self->end = self->maker = NULL;
    self->state = FRESH;
    self->running = 0;
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

/* serve_in_c(cls, call): calling an app of cls runs call (Koa.__call__) in C, unless cls
 * has its own __call__. Returns whether it does. */
static PyObject *
serve_in_c(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyType_Check(args[0]) || !PyType_HasFeature((PyTypeObject *)args[0], Py_TPFLAGS_HEAPTYPE) ||
        !PyFunction_Check(args[1]) || app_type == NULL || !PyType_IsSubtype((PyTypeObject *)args[0], app_type)) {
        PyErr_SetString(PyExc_TypeError, "serve_in_c(cls, Koa.__call__), once bind_serve() has run");
        return NULL;
    }
    PyTypeObject *cls = (PyTypeObject *)args[0];
    if (_PyType_Lookup(cls, s___call__) != args[1]) {
        Py_RETURN_FALSE;
    }
    Py_XSETREF(serve_python, Py_NewRef(args[1]));
    cls->tp_call = serve_call;
    Py_RETURN_TRUE;
}

/* -- the router's tree walk ------------------------------------------------------- */

/* router/matcher.py's Node: its fields, read through the slots' offsets */
static Py_ssize_t node_ends, node_param, node_patterns, node_prefixes, node_static, node_tails;
static PyTypeObject *node_type = NULL;

static PyObject *decode_param = NULL, *bad_param = NULL, *no_params = NULL;

/* bind_router(Node, decode, BadParam, NO_PARAMS): matcher.py's node class and helpers. */
static PyObject *
bind_router(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4 || !PyType_Check(args[0]) || !PyExceptionClass_Check(args[2]) || !PyDict_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "bind_router(Node, decode, BadParam, NO_PARAMS)");
        return NULL;
    }
    PyTypeObject *cls = (PyTypeObject *)args[0];
    if (named_offset(cls, "ends", &node_ends) < 0 || named_offset(cls, "param", &node_param) < 0 ||
        named_offset(cls, "patterns", &node_patterns) < 0 || named_offset(cls, "prefixes", &node_prefixes) < 0 ||
        named_offset(cls, "static", &node_static) < 0 || named_offset(cls, "tails", &node_tails) < 0) {
        return NULL;
    }
    Py_XSETREF(node_type, (PyTypeObject *)Py_NewRef(cls));
    Py_XSETREF(decode_param, Py_NewRef(args[1]));
    Py_XSETREF(bad_param, Py_NewRef(args[2]));
    Py_XSETREF(no_params, Py_NewRef(args[3]));
    Py_RETURN_NONE;
}

/* A Node's field, checked once per visit: a node built by matcher.py has them all. */
static PyObject *
node_field(PyObject *node, Py_ssize_t offset)
{
    PyObject *value = SLOT(node, offset);
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "an incomplete router Node");
    }
    return value;
}

static int
append_found(PyObject *out, PyObject *terminal, PyObject *caps)
{
    PyObject *item = PyTuple_Pack(2, terminal, caps);
    if (item == NULL) {
        return -1;
    }
    int result = PyList_Append(out, item);
    Py_DECREF(item);
    return result;
}

static int
append_all(PyObject *out, PyObject *terminals, PyObject *caps)
{
    if (!PyList_Check(terminals)) {
        PyErr_SetString(PyExc_TypeError, "router Node lists must be lists");
        return -1;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(terminals); i++) {
        if (append_found(out, PyList_GET_ITEM(terminals, i), caps) < 0) {
            return -1;
        }
    }
    return 0;
}

static PyObject *
tuple_plus(PyObject *caps, PyObject *more)
{
    PyObject *extra = PyTuple_Check(more) ? Py_NewRef(more) : PyTuple_Pack(1, more);
    if (extra == NULL) {
        return NULL;
    }
    PyObject *joined = PySequence_Concat(caps, extra);
    Py_DECREF(extra);
    return joined;
}

static int walk(PyObject *node, PyObject *segs, PyObject *lows, Py_ssize_t index, Py_ssize_t count,
                PyObject *caps, PyObject *out);
static int walk_tails(PyObject *tails, PyObject *segs, Py_ssize_t index, PyObject *caps, PyObject *out);

/* The branches that need more than a dict lookup: typed or mixed segments, and `*rest`. */
static int
walk_patterns(PyObject *node, PyObject *segs, PyObject *lows, Py_ssize_t index, Py_ssize_t count,
              PyObject *caps, PyObject *out, PyObject *seg)
{
    PyObject *patterns = node_field(node, node_patterns);
    PyObject *tails = node_field(node, node_tails);
    if (patterns == NULL || tails == NULL) {
        return -1;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(seg) ? PyList_GET_SIZE(patterns) : 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *entry = PyList_GET_ITEM(patterns, i); /* (regex, child) */
        PyObject *found = PyObject_CallMethodOneArg(PyTuple_GET_ITEM(entry, 0), s_fullmatch, seg);
        if (found == NULL) {
            return -1;
        }
        if (found != Py_None) {
            PyObject *groups = PyObject_CallMethodNoArgs(found, s_groups);
            PyObject *more = groups ? PySequence_Concat(caps, groups) : NULL;
            Py_XDECREF(groups);
            int failed = more == NULL || walk(PyTuple_GET_ITEM(entry, 1), segs, lows, index + 1, count, more, out);
            Py_XDECREF(more);
            if (failed) {
                Py_DECREF(found);
                return -1;
            }
        }
        Py_DECREF(found);
    }
    return PyList_GET_SIZE(tails) ? walk_tails(tails, segs, index, caps, out) : 0;
}

/* matcher._tails: the `*rest` wildcards ending here take what is left, empty segments too. */
static int
walk_tails(PyObject *tails, PyObject *segs, Py_ssize_t index, PyObject *caps, PyObject *out)
{
    PyObject *tail_segs = PyList_GetSlice(segs, index, PyList_GET_SIZE(segs));
    PyObject *rest = tail_segs ? PyUnicode_Join(s_slash, tail_segs) : NULL;
    Py_XDECREF(tail_segs);
    if (rest == NULL) {
        return -1;
    }
    int failed = 0;
    PyObject *with_rest = PyUnicode_GET_LENGTH(rest) ? tuple_plus(caps, rest) : NULL;
    if (PyUnicode_GET_LENGTH(rest) && with_rest == NULL) {
        failed = -1;
    }
    for (Py_ssize_t i = 0; with_rest != NULL && !failed && i < PyList_GET_SIZE(tails); i++) {
        PyObject *entry = PyList_GET_ITEM(tails, i); /* (terminal, regex or None) */
        PyObject *tail = PyTuple_GET_ITEM(entry, 1);
        int matches = 1;
        if (tail != Py_None) {
            PyObject *found = PyObject_CallMethodOneArg(tail, s_fullmatch, rest);
            if (found == NULL) {
                failed = -1;
                break;
            }
            matches = found != Py_None;
            Py_DECREF(found);
        }
        if (matches && append_found(out, PyTuple_GET_ITEM(entry, 0), with_rest) < 0) {
            failed = -1;
        }
    }
    Py_XDECREF(with_rest);
    Py_DECREF(rest);
    return failed;
}

/* matcher._walk: follow the path in a loop while one branch can match, recurse where several can. */
static int
walk(PyObject *node, PyObject *segs, PyObject *lows, Py_ssize_t index, Py_ssize_t count, PyObject *caps,
     PyObject *out)
{
    Py_INCREF(caps); /* owned from here on: the loop replaces it */
    int failed = -1;
    for (;;) {
        if (!Py_IS_TYPE(node, node_type) && !PyObject_TypeCheck(node, node_type)) {
            PyErr_SetString(PyExc_TypeError, "the router tree holds something other than a Node");
            break;
        }
        PyObject *prefixes = node_field(node, node_prefixes);
        if (prefixes == NULL || append_all(out, prefixes, caps) < 0) {
            break;
        }
        if (index == count) {
            PyObject *ends = node_field(node, node_ends);
            PyObject *tails = node_field(node, node_tails);
            if (ends == NULL || tails == NULL || append_all(out, ends, caps) < 0) {
                break;
            }
            failed = PyList_GET_SIZE(tails) ? walk_tails(tails, segs, index, caps, out) : 0;
            break;
        }
        PyObject *seg = PyList_GET_ITEM(segs, index);
        PyObject *statics = node_field(node, node_static);
        PyObject *patterns = node_field(node, node_patterns);
        PyObject *tails = node_field(node, node_tails);
        PyObject *param = node_field(node, node_param);
        if (statics == NULL || patterns == NULL || tails == NULL || param == NULL) {
            break;
        }
        PyObject *child = PyDict_GetItemWithError(statics, PyList_GET_ITEM(lows, index));
        if (child == NULL && PyErr_Occurred()) {
            break;
        }
        if (param == Py_None || PyUnicode_GET_LENGTH(seg) == 0) {
            param = NULL;
        }
        if (PyList_GET_SIZE(patterns) || PyList_GET_SIZE(tails)) {
            if ((child != NULL && walk(child, segs, lows, index + 1, count, caps, out) < 0)) {
                break;
            }
            if (param != NULL) {
                PyObject *more = tuple_plus(caps, seg);
                int result = more == NULL ? -1 : walk(param, segs, lows, index + 1, count, more, out);
                Py_XDECREF(more);
                if (result < 0) {
                    break;
                }
            }
            failed = walk_patterns(node, segs, lows, index, count, caps, out, seg);
            break;
        }
        if (param == NULL) {
            if (child == NULL) {
                failed = 0;
                break;
            }
            node = child;
        }
        else {
            if (child != NULL && walk(child, segs, lows, index + 1, count, caps, out) < 0) {
                break;
            }
            PyObject *more = tuple_plus(caps, seg);
            if (more == NULL) {
                break;
            }
            Py_SETREF(caps, more);
            node = param;
        }
        index++;
    }
    Py_DECREF(caps);
    return failed;
}

/* collect(root, path, strict, sensitive, out): matcher.collect. */
static PyObject *
collect(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5 || !PyUnicode_Check(args[1]) || !PyList_Check(args[4]) || node_type == NULL) {
        PyErr_SetString(PyExc_TypeError, "collect(root, path: str, strict, sensitive, out: list)");
        return NULL;
    }
    PyObject *root = args[0], *path = args[1], *out = args[4];
    int strict = PyObject_IsTrue(args[2]), sensitive = PyObject_IsTrue(args[3]);
    if (strict < 0 || sensitive < 0) {
        return NULL;
    }
    Py_ssize_t length = PyUnicode_GET_LENGTH(path);
    int trailing = !strict && length > 1 && PyUnicode_READ_CHAR(path, length - 1) == '/';
    if (trailing) {
        length--;
    }
    if (length == 0 || PyUnicode_READ_CHAR(path, 0) != '/') {
        if (!Py_IS_TYPE(root, node_type) && !PyObject_TypeCheck(root, node_type)) {
            PyErr_SetString(PyExc_TypeError, "collect() needs a router Node");
            return NULL;
        }
        PyObject *prefixes = node_field(root, node_prefixes);
        if (prefixes == NULL || append_all(out, prefixes, empty_tuple) < 0) {
            return NULL;
        }
        Py_RETURN_NONE;
    }
    PyObject *segs, *lows;
    if (length == 1) {
        segs = PyList_New(0);
        lows = Py_XNewRef(segs);
    }
    else {
        PyObject *rest = PyUnicode_Substring(path, 1, length);
        if (rest == NULL) {
            return NULL;
        }
        segs = PyUnicode_Split(rest, s_slash, -1);
        PyObject *low = sensitive ? Py_NewRef(rest) : PyObject_CallMethodNoArgs(rest, s_lower);
        if (segs == NULL || low == NULL) {
            lows = NULL;
        }
        else if (low == rest || PyUnicode_Compare(low, rest) == 0) {
            lows = Py_NewRef(segs);
        }
        else {
            lows = PyErr_Occurred() ? NULL : PyUnicode_Split(low, s_slash, -1);
        }
        Py_XDECREF(low);
        Py_DECREF(rest);
    }
    int failed = segs == NULL || lows == NULL;
    Py_ssize_t count = failed ? 0 : PyList_GET_SIZE(segs);
    if (!failed && trailing) {
        /* past `count`, seen only by `*rest`: "/a/" leaves "a/", "//" leaves "/" (lows may
         * be segs: its reads stop at `count`) */
        failed = PyList_Append(segs, s_empty) < 0 || (!count && PyList_Append(segs, s_empty) < 0);
    }
    if (!failed) {
        failed = walk(root, segs, lows, 0, count, empty_tuple, out) < 0;
    }
    Py_XDECREF(segs);
    Py_XDECREF(lows);
    if (failed) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* One parameter's value: matcher.decode (skipped when there is nothing to decode), then
 * its converter. NULL with the error set when either raises. */
static PyObject *
param_value(PyObject *raw, PyObject *convert)
{
    PyObject *value;
    Py_ssize_t length = PyUnicode_Check(raw) ? PyUnicode_GET_LENGTH(raw) : -1;
    if (length >= 0 && PyUnicode_FindChar(raw, '%', 0, length, 1) == -1 &&
        PyUnicode_FindChar(raw, 0, 0, length, 1) == -1) {
        value = Py_NewRef(raw);
    }
    else {
        value = PyObject_CallOneArg(decode_param, raw);
    }
    if (value == NULL || convert == Py_None) {
        return value;
    }
    Py_SETREF(value, PyObject_CallOneArg(convert, value));
    return value;
}

/* matcher._params: {name: value} for each captured value that is not empty. */
static PyObject *
params_of(PyObject *specs, PyObject *caps)
{
    PyObject *params = PyDict_New();
    if (params == NULL) {
        return NULL;
    }
    Py_ssize_t count = Py_MIN(PyTuple_GET_SIZE(specs), PyTuple_GET_SIZE(caps));
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *spec = PyTuple_GET_ITEM(specs, i); /* (name, converter or None) */
        PyObject *raw = PyTuple_GET_ITEM(caps, i);
        int empty = PyObject_Not(raw);
        if (empty < 0) {
            Py_DECREF(params);
            return NULL;
        }
        if (empty) {
            continue; /* an optional group's parameter that is absent (Koa leaves it out) */
        }
        PyObject *value = param_value(raw, PyTuple_GET_ITEM(spec, 1));
        if (value == NULL || PyDict_SetItem(params, PyTuple_GET_ITEM(spec, 0), value) < 0) {
            Py_XDECREF(value);
            Py_DECREF(params);
            return NULL;
        }
        Py_DECREF(value);
    }
    return params;
}

static int
append_hit(PyObject *out, PyObject *layer, PyObject *params, PyObject *error)
{
    if (params == NULL || error == NULL) {
        Py_XDECREF(params);
        Py_XDECREF(error);
        return -1;
    }
    PyObject *hit = PyTuple_Pack(3, layer, params, error);
    Py_DECREF(params);
    Py_DECREF(error);
    if (hit == NULL) {
        return -1;
    }
    int result = PyList_Append(out, hit);
    Py_DECREF(hit);
    return result;
}

/* The message of the error being raised, which is then cleared. */
static PyObject *
take_error_message(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *error = PyErr_GetRaisedException();
#else
    PyObject *type, *error, *traceback;
    PyErr_Fetch(&type, &error, &traceback);
    PyErr_NormalizeException(&type, &error, &traceback);
    Py_XDECREF(type);
    Py_XDECREF(traceback);
#endif
    PyObject *message = error ? PyObject_Str(error) : NULL;
    Py_XDECREF(error);
    return message;
}

/* hits(found): matcher._hits. */
static PyObject *
hits(PyObject *module, PyObject *found)
{
    if (!PyList_Check(found) || no_params == NULL) {
        PyErr_SetString(PyExc_TypeError, "hits() takes the list a walk found");
        return NULL;
    }
    PyObject *out = PyList_New(0);
    if (out == NULL) {
        return NULL;
    }
    PyObject *seen = NULL; /* borrowed: the order of the last hit */
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(found); i++) {
        PyObject *item = PyList_GET_ITEM(found, i); /* ((order, layer, specs), caps) */
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2 || !PyTuple_Check(PyTuple_GET_ITEM(item, 0)) ||
            PyTuple_GET_SIZE(PyTuple_GET_ITEM(item, 0)) != 3 || !PyTuple_Check(PyTuple_GET_ITEM(item, 1))) {
            PyErr_SetString(PyExc_TypeError, "hits() takes ((order, layer, specs), caps) items");
            goto error;
        }
        PyObject *terminal = PyTuple_GET_ITEM(item, 0);
        PyObject *order = PyTuple_GET_ITEM(terminal, 0);
        PyObject *layer = PyTuple_GET_ITEM(terminal, 1);
        PyObject *specs = PyTuple_GET_ITEM(terminal, 2);
        if (!PyTuple_Check(specs)) {
            PyErr_SetString(PyExc_TypeError, "a terminal's specs must be a tuple");
            goto error;
        }
        if (seen != NULL) {
            int same = PyObject_RichCompareBool(order, seen, Py_EQ);
            if (same < 0) {
                goto error;
            }
            if (same) {
                continue; /* two variants of one pattern (`{/}`) matched the same path */
            }
        }
        if (PyTuple_GET_SIZE(specs) == 0) {
            if (append_hit(out, layer, Py_NewRef(no_params), Py_NewRef(Py_None)) < 0) {
                goto error;
            }
            seen = order;
            continue;
        }
        PyObject *params = params_of(specs, PyTuple_GET_ITEM(item, 1));
        if (params != NULL) {
            if (append_hit(out, layer, params, Py_NewRef(Py_None)) < 0) {
                goto error;
            }
        }
        else if (PyErr_ExceptionMatches(bad_param)) {
            if (append_hit(out, layer, PyDict_New(), take_error_message()) < 0) {
                goto error;
            }
        }
        else if (PyErr_ExceptionMatches(PyExc_ValueError)) {
            PyErr_Clear();
            continue; /* a converter refused the value: this route does not match */
        }
        else {
            goto error;
        }
        seen = order;
    }
    return out;

error:
    Py_DECREF(out);
    return NULL;
}

/* -- the module ------------------------------------------------------------------- */

static PyMethodDef methods[] = {
    {"bind", (PyCFunction)(void (*)(void))bind, METH_FASTCALL,
     "bind(Context, prototype, encoded_names): read the context's slots once"},
    {"start_message", start_message, METH_O, "start_message(ctx): the http.response.start message"},
    {"bind_body", (PyCFunction)(void (*)(void))bind_body, METH_FASTCALL,
     "bind_body(setter, HTML, TEXT, BINARY, looks_like_html): the Python setter, for the cases C leaves to it"},
    {"bind_views", bind_views, METH_O, "bind_views(((field, cls, back), ...)): the context's views of itself"},
    {"set_body", (PyCFunction)(void (*)(void))set_body, METH_FASTCALL, "set_body(ctx, value): ctx.body = value"},
    {"bind_respond", (PyCFunction)(void (*)(void))bind_respond, METH_FASTCALL,
     "bind_respond(respond, EMPTY, dumps): the Python respond() for the cases C leaves to it"},
    {"respond", respond, METH_O, "respond(ctx): the body to send once the chain has returned"},
    {"finish", finish, METH_O, "finish(ctx): the messages to send once the chain has returned"},
    {"bind_serve", (PyCFunction)(void (*)(void))bind_serve, METH_FASTCALL,
     "bind_serve(Koa, check_downstream, failed): the app's slots, the Python steps of its call"},
    {"serve_in_c", (PyCFunction)(void (*)(void))serve_in_c, METH_FASTCALL,
     "serve_in_c(cls, Koa.__call__): calling an app of cls runs Koa.__call__ in C"},
    {"bind_router", (PyCFunction)(void (*)(void))bind_router, METH_FASTCALL,
     "bind_router(Node, decode, BadParam, NO_PARAMS): read the router node's slots once"},
    {"hits", hits, METH_O, "hits(found): the matched layers with their decoded parameters"},
    {"collect", (PyCFunction)(void (*)(void))collect, METH_FASTCALL,
     "collect(root, path, strict, sensitive, out): the router tree's terminals that path reaches"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "aiokoa._speedups", "The per-request steps of aiokoa's core, in C.", -1, methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    s_type = PyUnicode_InternFromString("type");
    s_status = PyUnicode_InternFromString("status");
    s_headers = PyUnicode_InternFromString("headers");
    s_start = PyUnicode_InternFromString("http.response.start");
    s_body = PyUnicode_InternFromString("body");
    s_end = PyUnicode_InternFromString("http.response.body");
    s_content_type = PyUnicode_InternFromString("content-type");
    s_transfer_encoding = PyUnicode_InternFromString("transfer-encoding");
    status_ok = PyLong_FromLong(200);
    s_pending = PyUnicode_InternFromString("_pending");
    s_pending_by = PyUnicode_InternFromString("_pending_by");
    s_finished = PyUnicode_InternFromString("_finished");
    s_method = PyUnicode_InternFromString("method");
    s_head = PyUnicode_InternFromString("HEAD");
    s_content_length = PyUnicode_InternFromString("content-length");
    s_slash = PyUnicode_InternFromString("/");
    s_empty = PyUnicode_InternFromString("");
    s_fullmatch = PyUnicode_InternFromString("fullmatch");
    s_groups = PyUnicode_InternFromString("groups");
    s_lower = PyUnicode_InternFromString("lower");
    empty_tuple = PyTuple_New(0);
    s_http = PyUnicode_InternFromString("http");
    s__compose = PyUnicode_InternFromString("_compose");
    s__other = PyUnicode_InternFromString("_other");
    s___call__ = PyUnicode_InternFromString("__call__");
    s_throw = PyUnicode_InternFromString("throw");
    s_close = PyUnicode_InternFromString("close");
    if (s_type == NULL || s_status == NULL || s_headers == NULL || s_start == NULL || s_slash == NULL ||
        s_empty == NULL || s_fullmatch == NULL || s_groups == NULL || s_lower == NULL || empty_tuple == NULL ||
        s_method == NULL || s_head == NULL || s_content_length == NULL ||
        s_body == NULL || s_end == NULL || s_content_type == NULL || s_transfer_encoding == NULL || status_ok == NULL || s_pending == NULL ||
        s_pending_by == NULL || s_finished == NULL || s_http == NULL ||
        s__compose == NULL || s__other == NULL || s___call__ == NULL || s_throw == NULL ||
        s_close == NULL || PyType_Ready(&ContextFactoryType) < 0 || PyType_Ready(&ServeType) < 0 ||
        PyType_Ready(&ChainType) < 0 || PyType_Ready(&RunType) < 0 || PyType_Ready(&NextType) < 0) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(module, "ContextFactory", (PyObject *)&ContextFactoryType) < 0 ||
        PyModule_AddObjectRef(module, "Chain", (PyObject *)&ChainType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
