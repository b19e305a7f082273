// The learner kernels' bindings, for module.c: tanh and its backward (activations.h), the fused MLP
// (mlp.h), the categorical log-probabilities (categorical.h), the PPO minibatch gradient
// (ppo_gradient.h) and a rollout step (actor.h). Each takes the caller's arrays
// through the buffer protocol, checks dtype, contiguity and shape (errors name the array and what
// it should be), and runs the kernel with the GIL released. module.c is the only includer, so the
// functions stay plain static, as in binding_checks.h.
#ifndef SAILFISH_LEARNER_BINDINGS_H
#define SAILFISH_LEARNER_BINDINGS_H
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "activations.h"
#include "actor.h"
#include "binding_checks.h"
#include "categorical.h"
#include "mlp.h"
#include "ppo_gradient.h"

// ---------------------------------------------------------------- activations
// A writable, C-contiguous float32 buffer of any shape; *count gets its number of items.
static int get_float_array(PyObject* obj, Py_buffer* view, const char* what, Py_ssize_t* count) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) < 0) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "%s: must be a writable, C-contiguous float32 array", what);
        return -1;
    }
    const char* fmt = view->format ? view->format : "B";
    while (*fmt == '@' || *fmt == '=' || *fmt == '<') fmt++;
    if (view->itemsize != 4 || strcmp(fmt, "f") != 0 || ((uintptr_t)view->buf) % 4) {
        PyErr_Format(PyExc_ValueError, "%s: must be float32 (got format '%s')", what, view->format ? view->format : "B");
        PyBuffer_Release(view);
        return -1;
    }
    *count = view->len / 4;
    return 0;
}

static PyObject* py_tanh_(PyObject* self, PyObject* arg) {
    (void)self;
    Py_buffer x;
    Py_ssize_t n;
    if (get_float_array(arg, &x, "x", &n) < 0) return NULL;
    Py_BEGIN_ALLOW_THREADS
    sf_tanh_inplace(x.buf, (size_t)n);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&x);
    Py_RETURN_NONE;
}

static PyObject* py_tanh_backward_(PyObject* self, PyObject* args) {
    (void)self;
    PyObject *grad_obj, *y_obj;
    if (!PyArg_ParseTuple(args, "OO", &grad_obj, &y_obj)) return NULL;
    Py_buffer grad, y;
    Py_ssize_t n, m;
    if (get_float_array(grad_obj, &grad, "grad", &n) < 0) return NULL;
    if (get_float_array(y_obj, &y, "y", &m) < 0) {
        PyBuffer_Release(&grad);
        return NULL;
    }
    if (n != m) {
        PyErr_Format(PyExc_ValueError, "tanh_backward_: grad has %zd items, y %zd", n, m);
    } else {
        Py_BEGIN_ALLOW_THREADS
        sf_tanh_backward_inplace(grad.buf, y.buf, (size_t)n);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&grad);
    PyBuffer_Release(&y);
    if (n != m) return NULL;
    Py_RETURN_NONE;
}

// ---------------------------------------------------------------- the fused MLP (mlp.h)
#define SF_MLP_MAX_LAYERS 64

// The buffers of one call, released together.
typedef struct {
    Py_buffer views[4 * SF_MLP_MAX_LAYERS + 12];
    int count;
} MlpBuffers;

static void mlp_release(MlpBuffers* b) {
    for (int i = 0; i < b->count; i++) PyBuffer_Release(&b->views[i]);
    b->count = 0;
}

// A float32 buffer of shape want[0..ndim) (each a size); its memory, or NULL with an error set.
static float* mlp_array(MlpBuffers* b, PyObject* obj, const char* what, int index, int ndim, const Py_ssize_t* want) {
    Py_buffer* view = &b->views[b->count];
    Py_ssize_t count;
    char name[64];
    if (index >= 0) snprintf(name, sizeof name, "%s[%d]", what, index);
    else snprintf(name, sizeof name, "%s", what);
    if (get_float_array(obj, view, name, &count) < 0) return NULL;
    b->count++;
    int ok = view->ndim == ndim;
    for (int d = 0; ok && d < ndim; d++) ok = view->shape[d] == want[d];
    if (!ok) {
        char got[128] = "", expected[128] = "";
        for (int d = 0; d < view->ndim && d < 6; d++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%zd", d ? ", " : "", view->shape[d]);
        for (int d = 0; d < ndim; d++)
            snprintf(expected + strlen(expected), sizeof expected - strlen(expected), "%s%zd", d ? ", " : "", want[d]);
        PyErr_Format(PyExc_ValueError, "mlp: %s has shape [%s], expected [%s]", name, got, expected);
        return NULL;
    }
    return view->buf;
}

// The arrays of a sequence argument, each checked by shape(i) into want.
static PyObject* mlp_sequence(PyObject* obj, const char* what, Py_ssize_t expected) {
    PyObject* seq = PySequence_Fast(obj, "mlp: expected a list of arrays");
    if (!seq) return NULL;
    if (PySequence_Fast_GET_SIZE(seq) != expected) {
        PyErr_Format(PyExc_ValueError, "mlp: %s has %zd arrays, expected %zd", what, PySequence_Fast_GET_SIZE(seq), expected);
        Py_DECREF(seq);
        return NULL;
    }
    return seq;
}

// Shape from x [K, B, w0] and weights[i] [K, w_{i+1}, w_i]; fills widths, returns the layer count
// or -1 with an error set.
static int mlp_shape(PyObject* x_obj, PyObject* weights_obj, SfMlpShape* shape, int* widths) {
    Py_buffer view;
    Py_ssize_t count;
    Py_ssize_t n = PySequence_Check(weights_obj) ? PySequence_Size(weights_obj) : -1;
    if (n < 1 || n > SF_MLP_MAX_LAYERS) {
        if (!PyErr_Occurred()) PyErr_Format(PyExc_ValueError, "mlp: weights must be a list of 1 to %d arrays", SF_MLP_MAX_LAYERS);
        return -1;
    }
    if (get_float_array(x_obj, &view, "x", &count) < 0) return -1;
    if (view.ndim != 3) {
        PyErr_Format(PyExc_ValueError, "mlp: x must be [members, rows, inputs], got %d dimensions", view.ndim);
        PyBuffer_Release(&view);
        return -1;
    }
    const Py_ssize_t K = view.shape[0], B = view.shape[1], w0 = view.shape[2];
    PyBuffer_Release(&view);
    if (K > INT_MAX || B > INT_MAX || w0 > INT_MAX || w0 < 1) {
        PyErr_SetString(PyExc_ValueError, "mlp: x has an empty or too large dimension");
        return -1;
    }
    widths[0] = (int)w0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject* item = PySequence_GetItem(weights_obj, i);
        if (!item) return -1;
        int rc = get_float_array(item, &view, "weights", &count);
        Py_DECREF(item);
        if (rc < 0) return -1;
        int ok = view.ndim == 3 && view.shape[0] == K && view.shape[2] == widths[i] && view.shape[1] <= INT_MAX && view.shape[1] > 0;
        widths[i + 1] = ok ? (int)view.shape[1] : 0;
        PyBuffer_Release(&view);
        if (!ok) {
            PyErr_Format(PyExc_ValueError, "mlp: weights[%zd] must be [%zd, outputs, %d] (members, outputs, inputs)", i, K, widths[i]);
            return -1;
        }
    }
    shape->members = (int)K;
    shape->rows = (int)B;
    shape->layers = (int)n;
    shape->widths = widths;
    return (int)n;
}

// Parses the layer lists of one call into pointers; returns 0 or -1 with an error set.
static int mlp_layer_arrays(MlpBuffers* b, PyObject* obj, const char* what, const SfMlpShape* s, int first, int count,
                            int kind, float** into) {
    PyObject* seq = mlp_sequence(obj, what, count);
    if (!seq) return -1;
    for (int j = 0; j < count; j++) {
        const int i = first + j;  // the layer
        Py_ssize_t want[3] = {s->members, 0, 0};
        int ndim = 3;
        if (kind == 0) want[1] = s->widths[i + 1], want[2] = s->widths[i];  // a weight
        else if (kind == 1) want[1] = s->widths[i + 1], ndim = 2;         // a bias
        else want[1] = s->rows, want[2] = s->widths[i + 1];                // an activation
        into[j] = mlp_array(b, PySequence_Fast_GET_ITEM(seq, j), what, j, ndim, want);
        if (!into[j]) {
            Py_DECREF(seq);
            return -1;
        }
    }
    Py_DECREF(seq);
    return 0;
}

static PyObject* py_mlp_forward(PyObject* self, PyObject* args) {
    (void)self;
    PyObject *x_obj, *w_obj, *b_obj, *h_obj, *out_obj;
    if (!PyArg_ParseTuple(args, "OOOOO", &x_obj, &w_obj, &b_obj, &h_obj, &out_obj)) return NULL;
    SfMlpShape s;
    int widths[SF_MLP_MAX_LAYERS + 1];
    int n = mlp_shape(x_obj, w_obj, &s, widths);
    if (n < 0) return NULL;
    MlpBuffers b = {.count = 0};
    float *weights[SF_MLP_MAX_LAYERS], *biases[SF_MLP_MAX_LAYERS], *hidden[SF_MLP_MAX_LAYERS];
    Py_ssize_t xs[3] = {s.members, s.rows, widths[0]}, os[3] = {s.members, s.rows, widths[n]};
    float* x = mlp_array(&b, x_obj, "x", -1, 3, xs);
    float* out = x ? mlp_array(&b, out_obj, "out", -1, 3, os) : NULL;
    if (!out || mlp_layer_arrays(&b, w_obj, "weights", &s, 0, n, 0, weights) < 0 ||
        mlp_layer_arrays(&b, b_obj, "biases", &s, 0, n, 1, biases) < 0 ||
        mlp_layer_arrays(&b, h_obj, "hidden", &s, 0, n - 1, 2, hidden) < 0) {
        mlp_release(&b);
        return NULL;
    }
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = sf_mlp_forward(&s, x, (const float* const*)weights, (const float* const*)biases, hidden, out);
    Py_END_ALLOW_THREADS
    mlp_release(&b);
    if (rc < 0) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyObject* py_mlp_backward(PyObject* self, PyObject* args) {
    (void)self;
    PyObject *x_obj, *w_obj, *h_obj, *g_obj, *gw_obj, *gb_obj;
    if (!PyArg_ParseTuple(args, "OOOOOO", &x_obj, &w_obj, &h_obj, &g_obj, &gw_obj, &gb_obj)) return NULL;
    SfMlpShape s;
    int widths[SF_MLP_MAX_LAYERS + 1];
    int n = mlp_shape(x_obj, w_obj, &s, widths);
    if (n < 0) return NULL;
    MlpBuffers b = {.count = 0};
    float *weights[SF_MLP_MAX_LAYERS], *hidden[SF_MLP_MAX_LAYERS], *grad_w[SF_MLP_MAX_LAYERS], *grad_b[SF_MLP_MAX_LAYERS];
    Py_ssize_t xs[3] = {s.members, s.rows, widths[0]}, gs[3] = {s.members, s.rows, widths[n]};
    float* x = mlp_array(&b, x_obj, "x", -1, 3, xs);
    float* grad_out = x ? mlp_array(&b, g_obj, "grad_out", -1, 3, gs) : NULL;
    if (!grad_out || mlp_layer_arrays(&b, w_obj, "weights", &s, 0, n, 0, weights) < 0 ||
        mlp_layer_arrays(&b, h_obj, "hidden", &s, 0, n - 1, 2, hidden) < 0 ||
        mlp_layer_arrays(&b, gw_obj, "grad_weights", &s, 0, n, 0, grad_w) < 0 ||
        mlp_layer_arrays(&b, gb_obj, "grad_biases", &s, 0, n, 1, grad_b) < 0) {
        mlp_release(&b);
        return NULL;
    }
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = sf_mlp_backward(&s, x, (const float* const*)weights, (const float* const*)hidden, grad_out, grad_w, grad_b);
    Py_END_ALLOW_THREADS
    mlp_release(&b);
    if (rc < 0) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

// ---------------------------------------------------------------- categorical log-probabilities (categorical.h)
// logits: a float32 [rows, n] array whose rows may be further apart than n (a slice of a wider
// output); *ld gets the row stride in floats.
static int get_logits(PyObject* obj, Py_buffer* view, Py_ssize_t* rows, int* n, size_t* ld) {
    if (PyObject_GetBuffer(obj, view, PyBUF_STRIDES | PyBUF_FORMAT) < 0) {
        PyErr_Clear();
        PyErr_SetString(PyExc_ValueError, "logits: must be a float32 NumPy array [rows, n]");
        return -1;
    }
    const char* fmt = view->format ? view->format : "B";
    while (*fmt == '@' || *fmt == '=' || *fmt == '<') fmt++;
    const char* why = NULL;
    if (view->itemsize != 4 || strcmp(fmt, "f") != 0) why = "must be float32";
    else if (view->ndim != 2 || view->shape[1] < 1 || view->shape[1] > INT_MAX) why = "must be [rows, n] with n >= 1";
    else if (view->strides[1] != 4 || view->strides[0] < 4 * view->shape[1] || view->strides[0] % 4 ||
             ((uintptr_t)view->buf) % 4)
        why = "must have contiguous rows (a row stride of at least n floats)";
    if (why) {
        PyErr_Format(PyExc_ValueError, "logits: %s", why);
        PyBuffer_Release(view);
        return -1;
    }
    *rows = view->shape[0];
    *n = (int)view->shape[1];
    *ld = (size_t)(view->shape[0] > 1 ? view->strides[0] / 4 : view->shape[1]);
    return 0;
}

// The logits and then each of `count` per-row buffers (actions int64 [rows]; the rest float32,
// [rows] or, for the last when `last_wide`, [rows, n]); a None where `optional[i]` gives a NULL.
// On success *held views are to be released by the caller; on failure they are released here.
static int categorical_buffers(PyObject* logits, PyObject** objs, const char** names, const int* optional,
                               int count, int last_wide, Py_buffer* views, int* held, void** ptrs,
                               Py_ssize_t* rows, int* n, size_t* ld) {
    *held = 0;
    if (get_logits(logits, &views[0], rows, n, ld) < 0) return -1;
    *held = 1;
    for (int i = 0; i < count; i++) {
        ptrs[i] = NULL;
        if (optional[i] && objs[i] == Py_None) continue;  // a zero gradient
        const Py_ssize_t items = last_wide && i == count - 1 ? *n : 1;
        int rc = i == 0 ? get_buffer(objs[i], &views[*held], names[i], "lq", 8, "int64", *rows, 1)
                        : get_buffer(objs[i], &views[*held], names[i], "f", 4, "float32", *rows, items);
        if (rc < 0) {
            for (int j = 0; j < *held; j++) PyBuffer_Release(&views[j]);
            return -1;
        }
        ptrs[i] = views[(*held)++].buf;
    }
    return 0;
}

static PyObject* py_categorical_forward(PyObject* self, PyObject* args) {
    (void)self;
    PyObject *z_obj, *objs[4];
    if (!PyArg_ParseTuple(args, "OOOOO", &z_obj, &objs[0], &objs[1], &objs[2], &objs[3])) return NULL;
    const char* names[4] = {"actions", "logp", "entropy", "lse"};
    const int optional[4] = {0, 0, 0, 0};
    Py_buffer views[5];
    void* p[4];
    int held;
    Py_ssize_t rows;
    int n;
    size_t ld;
    if (categorical_buffers(z_obj, objs, names, optional, 4, 0, views, &held, p, &rows, &n, &ld) < 0) return NULL;
    Py_BEGIN_ALLOW_THREADS
    sf_categorical_forward(views[0].buf, ld, p[0], (size_t)rows, n, p[1], p[2], p[3]);
    Py_END_ALLOW_THREADS
    for (int j = 0; j < held; j++) PyBuffer_Release(&views[j]);
    Py_RETURN_NONE;
}

static PyObject* py_categorical_backward(PyObject* self, PyObject* args) {
    (void)self;
    PyObject *z_obj, *objs[6];
    if (!PyArg_ParseTuple(args, "OOOOOOO", &z_obj, &objs[0], &objs[1], &objs[2], &objs[3], &objs[4], &objs[5]))
        return NULL;
    const char* names[6] = {"actions", "lse", "entropy", "grad_logp", "grad_entropy", "grad"};
    const int optional[6] = {0, 0, 0, 1, 1, 0};
    Py_buffer views[7];
    void* p[6];
    int held;
    Py_ssize_t rows;
    int n;
    size_t ld;
    if (categorical_buffers(z_obj, objs, names, optional, 6, 1, views, &held, p, &rows, &n, &ld) < 0) return NULL;
    Py_BEGIN_ALLOW_THREADS
    sf_categorical_backward(views[0].buf, ld, p[0], p[1], p[2], p[3], p[4], (size_t)rows, n, p[5]);
    Py_END_ALLOW_THREADS
    for (int j = 0; j < held; j++) PyBuffer_Release(&views[j]);
    Py_RETURN_NONE;
}

// ---------------------------------------------------------------- the PPO minibatch gradient (ppo_gradient.h)
// A per-row (or per-member) buffer of one call, of `type`, held in b; its memory, or NULL with an
// error set.
typedef enum { PPO_FLOAT32, PPO_FLOAT64, PPO_INT64, PPO_BOOL } PpoType;

static void* ppo_rows(MlpBuffers* b, PyObject* obj, const char* what, PpoType type, Py_ssize_t rows, Py_ssize_t items) {
    static const char* formats[] = {"f", "d", "lq", "?bB"};
    static const Py_ssize_t sizes[] = {4, 8, 8, 1};
    static const char* dtypes[] = {"float32", "float64", "int64", "bool"};
    Py_buffer* view = &b->views[b->count];
    if (get_buffer(obj, view, what, formats[type], sizes[type], dtypes[type], rows, items) < 0) return NULL;
    b->count++;
    return view->buf;
}

// mlp_shape for an actor-critic: the last layer's outputs are the logits, then the value (>= 2).
static int actor_critic_shape(PyObject* x_obj, PyObject* w_obj, SfMlpShape* s, int* widths, const char* what) {
    const int n = mlp_shape(x_obj, w_obj, s, widths);
    if (n >= 0 && widths[n] < 2) {
        PyErr_Format(PyExc_ValueError, "%s: the last layer has %d outputs; it needs the logits and the value (>= 2)",
                     what, widths[n]);
        return -1;
    }
    return n;
}

static PyObject* py_ppo_gradient(PyObject* self, PyObject* args) {
    (void)self;
    PyObject *x_obj, *w_obj, *b_obj, *a_obj, *lp_obj, *adv_obj, *v_obj, *ret_obj, *coefs_obj, *gw_obj, *gb_obj,
        *ratio_obj, *sums_obj, *masks_obj = Py_None, *live_obj = Py_None;
    int norm_adv;
    if (!PyArg_ParseTuple(args, "OOOOOOOOOpOOOO|OO", &x_obj, &w_obj, &b_obj, &a_obj, &lp_obj, &adv_obj, &v_obj,
                          &ret_obj, &coefs_obj, &norm_adv, &gw_obj, &gb_obj, &ratio_obj, &sums_obj, &masks_obj,
                          &live_obj))
        return NULL;
    SfMlpShape s;
    int widths[SF_MLP_MAX_LAYERS + 1];
    int n = actor_critic_shape(x_obj, w_obj, &s, widths, "ppo_gradient");
    if (n < 0) return NULL;
    MlpBuffers b = {.count = 0};
    float *weights[SF_MLP_MAX_LAYERS], *biases[SF_MLP_MAX_LAYERS], *grad_w[SF_MLP_MAX_LAYERS], *grad_b[SF_MLP_MAX_LAYERS];
    const Py_ssize_t K = s.members, rows = (Py_ssize_t)s.members * s.rows;
    Py_ssize_t xs[3] = {K, s.rows, widths[0]};
    SfPpoBatch batch = {.norm_adv = norm_adv};
    const float* x = mlp_array(&b, x_obj, "x", -1, 3, xs);
    int ok = x && (batch.actions = ppo_rows(&b, a_obj, "actions", PPO_INT64, rows, 1)) &&
             (batch.old_logprobs = ppo_rows(&b, lp_obj, "old_logprobs", PPO_FLOAT32, rows, 1)) &&
             (batch.advantages = ppo_rows(&b, adv_obj, "advantages", PPO_FLOAT32, rows, 1)) &&
             (batch.old_values = ppo_rows(&b, v_obj, "old_values", PPO_FLOAT32, rows, 1)) &&
             (batch.returns = ppo_rows(&b, ret_obj, "returns", PPO_FLOAT32, rows, 1)) &&
             (batch.coefs = ppo_rows(&b, coefs_obj, "coefs", PPO_FLOAT32, K, 4)) &&
             (batch.ratios = ppo_rows(&b, ratio_obj, "ratios", PPO_FLOAT32, rows, 1)) &&
             (batch.sums = ppo_rows(&b, sums_obj, "sums", PPO_FLOAT64, K, 3)) &&
             (masks_obj == Py_None ||
              (batch.action_masks = ppo_rows(&b, masks_obj, "action_masks", PPO_BOOL, rows, widths[n] - 1)) != NULL) &&
             (live_obj == Py_None || (batch.live = ppo_rows(&b, live_obj, "live", PPO_FLOAT32, rows, 1)) != NULL) &&
             mlp_layer_arrays(&b, w_obj, "weights", &s, 0, n, 0, weights) == 0 &&
             mlp_layer_arrays(&b, b_obj, "biases", &s, 0, n, 1, biases) == 0 &&
             mlp_layer_arrays(&b, gw_obj, "grad_weights", &s, 0, n, 0, grad_w) == 0 &&
             mlp_layer_arrays(&b, gb_obj, "grad_biases", &s, 0, n, 1, grad_b) == 0;
    if (!ok) {
        mlp_release(&b);
        return NULL;
    }
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = sf_ppo_gradient(&s, x, (const float* const*)weights, (const float* const*)biases, &batch, grad_w, grad_b);
    Py_END_ALLOW_THREADS
    mlp_release(&b);
    if (rc < 0) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

// ---------------------------------------------------------------- a rollout step (actor.h)
static PyObject* py_mlp_packed_size(PyObject* self, PyObject* args) {
    (void)self;
    PyObject *x_obj, *w_obj;
    if (!PyArg_ParseTuple(args, "OO", &x_obj, &w_obj)) return NULL;
    SfMlpShape s;
    int widths[SF_MLP_MAX_LAYERS + 1];
    if (mlp_shape(x_obj, w_obj, &s, widths) < 0) return NULL;
    return PyLong_FromSize_t(sf_mlp_packed_size(&s));
}

static PyObject* py_mlp_act(PyObject* self, PyObject* args) {
    (void)self;
    PyObject *x_obj, *w_obj, *b_obj, *packed_obj, *noise_obj, *masks_obj, *a_obj, *lp_obj, *v_obj;
    int repack;
    if (!PyArg_ParseTuple(args, "OOOOpOOOOO", &x_obj, &w_obj, &b_obj, &packed_obj, &repack, &noise_obj, &masks_obj,
                          &a_obj, &lp_obj, &v_obj))
        return NULL;
    SfMlpShape s;
    int widths[SF_MLP_MAX_LAYERS + 1];
    int n = actor_critic_shape(x_obj, w_obj, &s, widths, "mlp_act");
    if (n < 0) return NULL;
    MlpBuffers b = {.count = 0};
    float *weights[SF_MLP_MAX_LAYERS], *biases[SF_MLP_MAX_LAYERS];
    const Py_ssize_t rows = (Py_ssize_t)s.members * s.rows, actions = widths[n] - 1;
    Py_ssize_t xs[3] = {s.members, s.rows, widths[0]};
    const float* x = mlp_array(&b, x_obj, "x", -1, 3, xs);
    float* packed = NULL;
    const float* noise = NULL;
    const uint8_t* masks = NULL;
    int64_t* act = NULL;
    float *logp = NULL, *value = NULL;
    int ok = x && (packed = ppo_rows(&b, packed_obj, "packed", PPO_FLOAT32, (Py_ssize_t)sf_mlp_packed_size(&s), 1)) &&
             (noise = ppo_rows(&b, noise_obj, "noise", PPO_FLOAT32, rows, actions)) &&
             (masks_obj == Py_None || (masks = ppo_rows(&b, masks_obj, "action_masks", PPO_BOOL, rows, actions))) &&
             (act = ppo_rows(&b, a_obj, "actions", PPO_INT64, rows, 1)) &&
             (logp = ppo_rows(&b, lp_obj, "logprob", PPO_FLOAT32, rows, 1)) &&
             (value = ppo_rows(&b, v_obj, "value", PPO_FLOAT32, rows, 1)) &&
             (!repack || (mlp_layer_arrays(&b, w_obj, "weights", &s, 0, n, 0, weights) == 0 &&
                          mlp_layer_arrays(&b, b_obj, "biases", &s, 0, n, 1, biases) == 0));
    if (!ok) {
        mlp_release(&b);
        return NULL;
    }
    int rc;
    Py_BEGIN_ALLOW_THREADS
    if (repack) sf_mlp_pack(&s, (const float* const*)weights, (const float* const*)biases, packed);
    rc = sf_mlp_act(&s, x, packed, noise, masks, act, logp, value);
    Py_END_ALLOW_THREADS
    mlp_release(&b);
    if (rc < 0) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

#endif
