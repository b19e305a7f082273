// The one generic binding: exposes the registry, the vector of envs over caller-owned NumPy
// buffers, the advantage kernel, connect4's bots and the learner kernels (their bindings are in
// learner_bindings.h). Buffers are checked once, at creation, through the buffer protocol (so the
// build needs no NumPy headers; the checks are in binding_checks.h); step only checks the actions.
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "advantage.h"
#include "binding_checks.h"
#include "learner_bindings.h"
#include "vecenv.h"
#include "envs/connect4_bot.h"

// ---------------------------------------------------------------- names() and spec()
static PyObject* py_names(PyObject* self, PyObject* args) {
    (void)self; (void)args;
    PyObject* list = PyList_New(sf_registry_size);
    for (int i = 0; list && i < sf_registry_size; i++)
        PyList_SET_ITEM(list, i, PyUnicode_FromString(sf_registry[i]->name));
    return list;
}

static PyObject* str_tuple(const char* const* items, int n) {
    PyObject* t = PyTuple_New(n);
    for (int i = 0; t && i < n; i++) PyTuple_SET_ITEM(t, i, PyUnicode_FromString(items[i]));
    return t;
}

static PyObject* py_spec(PyObject* self, PyObject* args, PyObject* kwargs) {
    (void)self;
    static char* kwlist[] = {"name", "config", NULL};
    const char* name;
    PyObject* config = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "s|O", kwlist, &name, &config)) return NULL;
    const EnvDesc* desc;
    double cfg[32];
    EnvLayout l;
    if (resolve(name, config, &desc, cfg, &l) < 0) return NULL;

    PyObject* params = PyList_New(desc->num_params);
    PyObject* resolved = PyDict_New();
    for (int i = 0; i < desc->num_params; i++) {
        const ParamDesc* p = &desc->params[i];
        PyList_SET_ITEM(params, i, p->is_int
            ? Py_BuildValue("{s:s,s:L,s:d,s:d,s:s,s:s}", "name", p->name, "default", (long long)p->def, "low",
                            p->lo, "high", p->hi, "type", "int", "doc", p->doc)
            : Py_BuildValue("{s:s,s:d,s:d,s:d,s:s,s:s}", "name", p->name, "default", p->def, "low", p->lo,
                            "high", p->hi, "type", "float", "doc", p->doc));
        PyObject* v = p->is_int ? PyLong_FromLongLong((long long)cfg[i]) : PyFloat_FromDouble(cfg[i]);
        PyDict_SetItemString(resolved, p->name, v);
        Py_DECREF(v);
    }
    int obs_size = sf_obs_size(&l);
    PyObject* obs_shape = PyTuple_New(l.obs_ndim);
    for (int i = 0; i < l.obs_ndim; i++) PyTuple_SET_ITEM(obs_shape, i, PyLong_FromLong(l.obs_shape[i]));
    PyObject *obs_low, *obs_high;
    if (l.obs_high_per_dim) {
        obs_low = PyList_New(obs_size);
        obs_high = PyList_New(obs_size);
        for (int i = 0; i < obs_size; i++) {
            PyList_SET_ITEM(obs_low, i, PyFloat_FromDouble(-l.obs_high_per_dim[i]));
            PyList_SET_ITEM(obs_high, i, PyFloat_FromDouble(l.obs_high_per_dim[i]));
        }
    } else {
        obs_low = PyFloat_FromDouble(l.obs_low);
        obs_high = PyFloat_FromDouble(l.obs_high);
    }
    PyObject* act_n = PyTuple_New(l.act_type == SF_ACT_BOX ? 0 : l.act_dims);
    for (int i = 0; l.act_type != SF_ACT_BOX && i < l.act_dims; i++)
        PyTuple_SET_ITEM(act_n, i, PyLong_FromLong(l.act_n[i]));
    static const char* act_kinds[] = {"discrete", "multidiscrete", "box"};
    return Py_BuildValue(
        "{s:s,s:s,s:N,s:N,s:s,s:N,s:N,s:N,s:s,s:i,s:N,s:d,s:d,s:i,s:i,s:(iii),s:N,s:N,s:(ii)}",
        "name", desc->name, "doc", desc->doc, "params", params, "config", resolved,
        "obs_dtype", l.obs_type == SF_OBS_F32 ? "float32" : "uint8", "obs_shape", obs_shape,
        "obs_low", obs_low, "obs_high", obs_high, "act_kind", act_kinds[l.act_type], "act_dims", l.act_dims,
        "act_n", act_n, "act_low", (double)l.act_low, "act_high", (double)l.act_high,
        "agents_per_env", l.agents_per_env, "lanes", desc->lanes, "render_shape", l.render_height,
        l.render_width, 3, "extra_stats", str_tuple(desc->extra_stats, desc->num_extra_stats),
        "state_fields", str_tuple(desc->state_fields, desc->num_state_fields),
        "legal_flags", l.legal_flags_offset, l.num_legal_flags);
}

// ---------------------------------------------------------------- VecEnv type
enum { BUF_OBS, BUF_ACTIONS, BUF_REWARDS, BUF_TERMINALS, BUF_TRUNCATIONS, BUF_MASKS, NUM_BUFS };

typedef struct {
    PyObject_HEAD
    VecEnv* vec;
    Py_buffer views[NUM_BUFS];
    int num_views;
} PyVecEnv;

static void PyVecEnv_dealloc(PyVecEnv* self) {
    if (self->vec) {
        Py_BEGIN_ALLOW_THREADS
        sf_vec_destroy(self->vec);
        Py_END_ALLOW_THREADS
    }
    for (int i = 0; i < self->num_views; i++) PyBuffer_Release(&self->views[i]);
    Py_TYPE(self)->tp_free((PyObject*)self);
}

static int PyVecEnv_init(PyVecEnv* self, PyObject* args, PyObject* kwargs) {
    static char* kwlist[] = {"name", "observations", "actions", "rewards", "terminals", "truncations",
                             "num_envs", "seed", "num_threads", "config", "masks", NULL};
    const char* name;
    PyObject* bufs[NUM_BUFS] = {NULL};
    int num_envs, num_threads = 1;
    unsigned long long seed = 0;
    PyObject* config = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "sOOOOOi|KiOO", kwlist, &name, &bufs[0], &bufs[1], &bufs[2],
                                     &bufs[3], &bufs[4], &num_envs, &seed, &num_threads, &config, &bufs[5]))
        return -1;
    if (self->vec) {
        PyErr_SetString(PyExc_RuntimeError, "VecEnv is already initialised");
        return -1;
    }
    if (num_envs < 1) {
        PyErr_Format(PyExc_ValueError, "num_envs must be >= 1, got %d", num_envs);
        return -1;
    }
    if (num_threads < 1) {
        PyErr_Format(PyExc_ValueError, "num_threads must be >= 1, got %d", num_threads);
        return -1;
    }
    const EnvDesc* desc;
    double cfg[32];
    EnvLayout l;
    if (resolve(name, config, &desc, cfg, &l) < 0) return -1;
    Py_ssize_t rows = (Py_ssize_t)num_envs * l.agents_per_env;
    int f32_obs = l.obs_type == SF_OBS_F32, box = l.act_type == SF_ACT_BOX;
    struct { const char* what; const char* formats; Py_ssize_t itemsize; const char* dtype; Py_ssize_t items; } spec[NUM_BUFS] = {
        {"observations", f32_obs ? "f" : "B", f32_obs ? 4 : 1, f32_obs ? "float32" : "uint8", sf_obs_size(&l)},
        {"actions", box ? "f" : "il", 4, box ? "float32" : "int32", l.act_dims},
        {"rewards", "f", 4, "float32", 1},
        {"terminals", "?B", 1, "bool", 1},
        {"truncations", "?B", 1, "bool", 1},
        {"masks", "?B", 1, "bool", 1},
    };
    for (int i = 0; i < NUM_BUFS; i++) {
        if (i == BUF_MASKS && (bufs[i] == NULL || bufs[i] == Py_None)) break;  // optional: C keeps its own
        if (get_buffer(bufs[i], &self->views[i], spec[i].what, spec[i].formats, spec[i].itemsize, spec[i].dtype, rows,
                       spec[i].items) < 0)
            return -1;
        self->num_views++;
    }
    VecEnv* vec;
    Py_BEGIN_ALLOW_THREADS
    vec = sf_vec_create(desc, cfg, num_envs, seed, num_threads, self->views[BUF_OBS].buf,
                        self->views[BUF_ACTIONS].buf, self->views[BUF_REWARDS].buf,
                        self->views[BUF_TERMINALS].buf, self->views[BUF_TRUNCATIONS].buf,
                        self->num_views > BUF_MASKS ? self->views[BUF_MASKS].buf : NULL);
    Py_END_ALLOW_THREADS
    if (!vec) {
        PyErr_NoMemory();
        return -1;
    }
    self->vec = vec;
    return 0;
}

static int check_ready(PyVecEnv* self) {
    if (!self->vec) {
        PyErr_SetString(PyExc_RuntimeError, "VecEnv is not initialised");
        return -1;
    }
    return 0;
}

static PyObject* PyVecEnv_reset(PyVecEnv* self, PyObject* args, PyObject* kwargs) {
    static char* kwlist[] = {"seed", NULL};
    PyObject* seed_obj = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O", kwlist, &seed_obj) || check_ready(self) < 0) return NULL;
    unsigned long long seed = 0;
    int reseed = seed_obj != Py_None;
    if (reseed) {
        seed = PyLong_AsUnsignedLongLong(seed_obj);
        if (PyErr_Occurred()) {
            PyErr_Format(PyExc_ValueError, "seed must be a non-negative integer, got %R", seed_obj);
            return NULL;
        }
    }
    sf_vec_reset(self->vec, reseed, seed);
    Py_RETURN_NONE;
}

static PyObject* invalid_action_error(PyVecEnv* self, long row) {
    const EnvLayout* l = &self->vec->layout;
    PyObject* values = PyList_New(l->act_dims);
    for (int d = 0; values && d < l->act_dims; d++) {
        PyObject* v = l->act_type == SF_ACT_BOX
            ? PyFloat_FromDouble(((float*)self->vec->actions)[row * l->act_dims + d])
            : PyLong_FromLong(((int32_t*)self->vec->actions)[row * l->act_dims + d]);
        PyList_SET_ITEM(values, d, v);
    }
    if (l->act_type == SF_ACT_BOX)
        PyErr_Format(PyExc_ValueError, "%s: invalid action at row %ld: %R (box actions must be finite)",
                     self->vec->desc->name, row, values);
    else {
        PyObject* n = PyList_New(l->act_dims);
        for (int d = 0; n && d < l->act_dims; d++) PyList_SET_ITEM(n, d, PyLong_FromLong(l->act_n[d]));
        PyErr_Format(PyExc_ValueError, "%s: invalid action at row %ld: %R (each must be in [0, n) for n in %R)",
                     self->vec->desc->name, row, values, n);
        Py_XDECREF(n);
    }
    Py_XDECREF(values);
    return NULL;
}

static PyObject* PyVecEnv_step(PyVecEnv* self, PyObject* args, PyObject* kwargs) {
    static char* kwlist[] = {"check_actions", NULL};
    int check = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|p", kwlist, &check) || check_ready(self) < 0) return NULL;
    long bad = -1;
    Py_BEGIN_ALLOW_THREADS
    if (check) bad = sf_vec_check_actions(self->vec);
    if (bad < 0) sf_vec_step(self->vec);
    Py_END_ALLOW_THREADS
    if (bad >= 0) return invalid_action_error(self, bad);
    Py_RETURN_NONE;
}

static PyObject* PyVecEnv_drain_stats(PyVecEnv* self, PyObject* args) {
    (void)args;
    if (check_ready(self) < 0) return NULL;
    EpisodeStats s;
    sf_vec_drain_stats(self->vec, &s);
    PyObject* d = PyDict_New();
    if (!d || s.episodes == 0) return d;
    double n = s.episodes;
    PyObject* v;
#define SET(key, val) v = (val); PyDict_SetItemString(d, key, v); Py_DECREF(v)
    SET("episodes", PyLong_FromLongLong((long long)n));
    SET("episode_return", PyFloat_FromDouble(s.episode_return / n));
    SET("episode_length", PyFloat_FromDouble(s.episode_length / n));
    SET("score", PyFloat_FromDouble(s.score / n));
    for (int k = 0; k < self->vec->desc->num_extra_stats; k++) {
        SET(self->vec->desc->extra_stats[k], PyFloat_FromDouble(s.extra[k] / n));
    }
#undef SET
    return d;
}

static int check_env_index(PyVecEnv* self, int index) {
    if (check_ready(self) < 0) return -1;
    if (index < 0 || index >= self->vec->num_envs) {
        PyErr_Format(PyExc_IndexError, "env index %d out of range [0, %d)", index, self->vec->num_envs);
        return -1;
    }
    return 0;
}

static PyObject* PyVecEnv_render(PyVecEnv* self, PyObject* args) {
    int index;
    PyObject* out;
    if (!PyArg_ParseTuple(args, "iO", &index, &out) || check_env_index(self, index) < 0) return NULL;
    const EnvLayout* l = &self->vec->layout;
    Py_buffer view;
    if (get_buffer(out, &view, "render output", "B", 1, "uint8", l->render_height, (Py_ssize_t)l->render_width * 3) < 0)
        return NULL;
    sf_vec_render(self->vec, index, view.buf);
    PyBuffer_Release(&view);
    Py_RETURN_NONE;
}

static PyObject* PyVecEnv_get_state(PyVecEnv* self, PyObject* args) {
    int index;
    if (!PyArg_ParseTuple(args, "i", &index) || check_env_index(self, index) < 0) return NULL;
    const EnvDesc* desc = self->vec->desc;
    double values[SF_MAX_STATE_FIELDS] = {0};
    sf_vec_get_state(self->vec, index, values);
    PyObject* d = PyDict_New();
    for (int i = 0; d && i < desc->num_state_fields; i++) {
        PyObject* v = PyFloat_FromDouble(values[i]);
        PyDict_SetItemString(d, desc->state_fields[i], v);
        Py_DECREF(v);
    }
    return d;
}

static PyObject* PyVecEnv_set_state(PyVecEnv* self, PyObject* args) {
    int index;
    PyObject* state;
    if (!PyArg_ParseTuple(args, "iO!", &index, &PyDict_Type, &state) || check_env_index(self, index) < 0) return NULL;
    const EnvDesc* desc = self->vec->desc;
    double values[SF_MAX_STATE_FIELDS] = {0};
    sf_vec_get_state(self->vec, index, values);
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(state, &pos, &key, &value)) {
        const char* name = PyUnicode_Check(key) ? PyUnicode_AsUTF8(key) : NULL;
        int k = -1;
        for (int i = 0; name && i < desc->num_state_fields; i++)
            if (strcmp(desc->state_fields[i], name) == 0) k = i;
        if (k < 0) {
            PyErr_Format(PyExc_ValueError, "%s: unknown state field %R", desc->name, key);
            return NULL;
        }
        values[k] = PyFloat_AsDouble(value);
        if (PyErr_Occurred()) return NULL;
    }
    sf_vec_set_state(self->vec, index, values);
    Py_RETURN_NONE;
}

static PyObject* PyVecEnv_get_num_threads(PyVecEnv* self, void* closure) {
    (void)closure;
    if (check_ready(self) < 0) return NULL;
    return PyLong_FromLong(self->vec->num_threads);
}

static PyMethodDef PyVecEnv_methods[] = {
    {"reset", (PyCFunction)(void (*)(void))PyVecEnv_reset, METH_VARARGS | METH_KEYWORDS,
     "reset(seed=None): new episodes everywhere; reseeds every env's generator if seed is given"},
    {"step", (PyCFunction)(void (*)(void))PyVecEnv_step, METH_VARARGS | METH_KEYWORDS,
     "step(check_actions=True): steps every env once from the action buffer, GIL released"},
    {"drain_stats", (PyCFunction)PyVecEnv_drain_stats, METH_NOARGS,
     "drain_stats() -> dict of episode means since the last call (empty if none finished)"},
    {"render", (PyCFunction)PyVecEnv_render, METH_VARARGS, "render(index, out): draws env `index` into out (H, W, 3) uint8"},
    {"get_state", (PyCFunction)PyVecEnv_get_state, METH_VARARGS, "get_state(index) -> dict of the env's state fields"},
    {"set_state", (PyCFunction)PyVecEnv_set_state, METH_VARARGS,
     "set_state(index, dict): overwrites the named state fields and the env's observation"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef PyVecEnv_getset[] = {
    {"num_threads", (getter)PyVecEnv_get_num_threads, NULL, "threads stepping the envs", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject PyVecEnvType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "sailfish._native.VecEnv",
    .tp_doc = "VecEnv(name, observations, actions, rewards, terminals, truncations, num_envs, seed=0, "
              "num_threads=1, config=None, masks=None): num_envs native envs over caller-owned buffers",
    .tp_basicsize = sizeof(PyVecEnv),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)PyVecEnv_init,
    .tp_dealloc = (destructor)PyVecEnv_dealloc,
    .tp_methods = PyVecEnv_methods,
    .tp_getset = PyVecEnv_getset,
};

// ---------------------------------------------------------------- advantages
static PyObject* py_compute_advantages(PyObject* self, PyObject* args, PyObject* kwargs) {
    (void)self;
    static char* kwlist[] = {"values", "rewards", "terminals", "truncations", "ratios", "next_values",
                             "advantages", "gamma", "gae_lambda", "rho_clip", "c_clip", "masks", "next_masks",
                             NULL};
    // 0-6 as in kwlist, then the optional masks (7) and next_masks (8): None means every step is live.
    PyObject* objs[9] = {NULL};
    float gamma, lam, rho_clip = 1.0f, c_clip = 1.0f;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOOOOOff|ffOO", kwlist, &objs[0], &objs[1], &objs[2], &objs[3],
                                     &objs[4], &objs[5], &objs[6], &gamma, &lam, &rho_clip, &c_clip, &objs[7],
                                     &objs[8]))
        return NULL;
    Py_buffer v[9];
    int got = 0;
    Py_ssize_t agents = -1, horizon = -1;
    // values fixes the shape; the others must match it.
    if (PyObject_GetBuffer(objs[0], &v[0], PyBUF_STRIDES | PyBUF_FORMAT) == 0) {
        if (v[0].ndim == 2) { agents = v[0].shape[0]; horizon = v[0].shape[1]; }
        PyBuffer_Release(&v[0]);
    } else {
        PyErr_Clear();
    }
    if (agents < 0) {
        PyErr_SetString(PyExc_ValueError, "values: must be a float32 array of shape [agents, horizon]");
        return NULL;
    }
    static const char* names[9] = {"values", "rewards", "terminals", "truncations", "ratios", "next_values",
                                   "advantages", "masks", "next_masks"};
    const int has_masks = objs[7] && objs[7] != Py_None, has_next = objs[8] && objs[8] != Py_None;
    if (has_next && !has_masks) {
        PyErr_SetString(PyExc_ValueError, "next_masks: give masks as well (or neither)");
        return NULL;
    }
    const int wanted = 7 + has_masks + has_next;
    for (int i = 0; i < wanted; i++) {
        int flags = i == 2 || i == 3 || i >= 7;
        Py_ssize_t items = i == 5 || i == 8 ? 1 : horizon;
        if (get_buffer(objs[i], &v[i], names[i], flags ? "?B" : "f", flags ? 1 : 4, flags ? "bool" : "float32", agents,
                       items) < 0) {
            break;
        }
        got++;
    }
    if (got == wanted) {
        const uint8_t* masks = has_masks ? v[7].buf : NULL;
        const uint8_t* next_masks = has_next ? v[8].buf : NULL;
        Py_BEGIN_ALLOW_THREADS
        sf_compute_advantages(v[0].buf, v[1].buf, v[2].buf, v[3].buf, masks, next_masks, v[4].buf, v[5].buf,
                              v[6].buf, agents, horizon, gamma, lam, rho_clip, c_clip);
        Py_END_ALLOW_THREADS
    }
    for (int i = 0; i < got; i++) PyBuffer_Release(&v[i]);
    if (got != wanted) return NULL;
    Py_RETURN_NONE;
}

// ---------------------------------------------------------------- connect4's scripted bots, per row
static PyObject* py_connect4_bot_actions(PyObject* self, PyObject* args, PyObject* kwargs) {
    (void)self;
    static char* kwlist[] = {"observations", "actions", "kind", "depth", "skill", "seed", NULL};
    PyObject *obs_obj, *act_obj;
    int kind, depth = 4;
    float skill = 1.0f;
    unsigned long long seed = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOi|ifK", kwlist, &obs_obj, &act_obj, &kind, &depth, &skill, &seed))
        return NULL;
    if (kind < C4_BOT_ONESTEP || kind > C4_BOT_RANDOM) {
        PyErr_SetString(PyExc_ValueError, "kind: 0 = onestep, 1 = minimax, 2 = random");
        return NULL;
    }
    if (depth < 1 || depth > C4_MAX_DEPTH) {
        PyErr_Format(PyExc_ValueError, "depth: must be in 1..%d, got %d", C4_MAX_DEPTH, depth);
        return NULL;
    }
    Py_buffer obs, act;
    if (PyObject_GetBuffer(obs_obj, &obs, PyBUF_STRIDES | PyBUF_FORMAT) < 0) return NULL;
    Py_ssize_t rows = obs.ndim == 2 ? obs.shape[0] : -1;
    PyBuffer_Release(&obs);
    if (rows < 0) {
        PyErr_SetString(PyExc_ValueError, "observations: must be a float32 array of shape [rows, 49]");
        return NULL;
    }
    const int obs_items = C4_ROWS * C4_COLS + C4_COLS;
    if (get_buffer(obs_obj, &obs, "observations", "f", 4, "float32", rows, obs_items) < 0) return NULL;
    if (get_buffer(act_obj, &act, "actions", "lq", 8, "int64", rows, 1) < 0) {
        PyBuffer_Release(&obs);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    Rng rng;
    sf_rng_seed(&rng, (uint64_t)seed, 0);
    const float* o = obs.buf;
    int64_t* a = act.buf;
    for (Py_ssize_t i = 0; i < rows; i++) {
        uint64_t me, them;
        c4_board_from_obs(o + i * obs_items, &me, &them);
        // a full board has no move to make (a padding row's action is ignored): column 0
        a[i] = c4_playable_cells(me | them) ? c4_bot_column(me, them, kind, depth, skill, &rng) : 0;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&obs);
    PyBuffer_Release(&act);
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"names", py_names, METH_NOARGS, "names() -> list of registered env names"},
    {"spec", (PyCFunction)(void (*)(void))py_spec, METH_VARARGS | METH_KEYWORDS,
     "spec(name, config=None) -> dict: spaces, parameters and layout of an env under a config"},
    {"compute_advantages", (PyCFunction)(void (*)(void))py_compute_advantages, METH_VARARGS | METH_KEYWORDS,
     "compute_advantages(values, rewards, terminals, truncations, ratios, next_values, advantages, gamma, "
     "gae_lambda, rho_clip=1, c_clip=1, masks=None, next_masks=None): GAE with V-trace clipped importance "
     "weights, in place, padding steps (masks False) transparent; arrays are [agents, horizon] (next_values, "
     "next_masks [agents]), see advantage.h"},
    {"tanh_", py_tanh_, METH_O,
     "tanh_(x): tanh of a writable C-contiguous float32 array, in place (max abs error 2e-7; activations.h)"},
    {"tanh_backward_", py_tanh_backward_, METH_VARARGS,
     "tanh_backward_(grad, y): grad *= 1 - y**2 in place, y = tanh's output (float32 arrays of one size)"},
    {"mlp_forward", py_mlp_forward, METH_VARARGS,
     "mlp_forward(x, weights, biases, hidden, out): K members' tanh MLPs at once (mlp.h): x [K, B, w0], "
     "weights[i] [K, w_i+1, w_i], biases[i] [K, w_i+1]; writes hidden[i] [K, B, w_i+1] (the n - 1 tanh "
     "outputs) and out [K, B, w_n]; float32 C-contiguous arrays"},
    {"mlp_backward", py_mlp_backward, METH_VARARGS,
     "mlp_backward(x, weights, hidden, grad_out, grad_weights, grad_biases): the gradients of mlp_forward's "
     "out, given grad_out [K, B, w_n], into grad_weights[i] and grad_biases[i] (overwritten; mlp.h)"},
    {"ppo_gradient", py_ppo_gradient, METH_VARARGS,
     "ppo_gradient(x, weights, biases, actions, old_logprobs, advantages, old_values, returns, coefs, norm_adv, "
     "grad_weights, grad_biases, ratios, sums, action_masks=None, live=None): one PPO minibatch's parameter "
     "gradients for K MLPs with a categorical head and a value column (ppo_gradient.h); coefs float32 [K, 4], "
     "sums float64 [K, 3], action_masks bool [rows, actions] (True = legal) or None, live float32 [rows] "
     "(mean-1 weights, 0 on padding rows) or None"},
    {"mlp_packed_size", py_mlp_packed_size, METH_VARARGS,
     "mlp_packed_size(x, weights) -> int: the float32 items mlp_act's packed weights take for x [K, B, w0] "
     "and weights[i] [K, w_i+1, w_i] (mlp.h)"},
    {"mlp_act", py_mlp_act, METH_VARARGS,
     "mlp_act(x, weights, biases, packed, repack, noise, action_masks, actions, logprob, value): one rollout "
     "step of K actor-critic MLPs with a categorical head (actor.h): with repack, weights and biases are "
     "first packed into packed (float32 [mlp_packed_size]); then the forward of x [K, B, w0], the "
     "Gumbel-max sample with noise float32 [K*B, n] (Exp(1) draws) under action_masks bool [K*B, n] or "
     "None, into actions int64, logprob and value float32 [K*B]"},
    {"categorical_forward", py_categorical_forward, METH_VARARGS,
     "categorical_forward(logits, actions, logp, entropy, lse): per row of logits [rows, n] (float32, rows "
     "may be strided), the log-probability of actions int64 [rows], the entropy and log-sum-exp, into "
     "float32 [rows] arrays (categorical.h)"},
    {"categorical_backward", py_categorical_backward, METH_VARARGS,
     "categorical_backward(logits, actions, lse, entropy, grad_logp, grad_entropy, grad): the gradient of "
     "categorical_forward's outputs with respect to the logits into grad float32 [rows, n]; grad_logp or "
     "grad_entropy may be None (zero)"},
    {"connect4_bot_actions", (PyCFunction)(void (*)(void))py_connect4_bot_actions, METH_VARARGS | METH_KEYWORDS,
     "connect4_bot_actions(observations, actions, kind, depth=4, skill=1, seed=0): connect4's scripted bot "
     "(kind 0 onestep, 1 minimax to depth plies, 2 random) playing each row of observations [rows, 49] "
     "(connect4's layout, from the row's side) into actions int64 [rows], in place; one RNG stream seeded "
     "by seed, rows in order (connect4_bot.h)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "sailfish._native", "Sailfish's C core: native envs, vector stepping, advantages.", -1,
    module_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__native(void) {
    if (PyType_Ready(&PyVecEnvType) < 0) return NULL;
    PyObject* m = PyModule_Create(&module_def);
    if (!m) return NULL;
    Py_INCREF(&PyVecEnvType);
    if (PyModule_AddObject(m, "VecEnv", (PyObject*)&PyVecEnvType) < 0) {
        Py_DECREF(&PyVecEnvType);
        Py_DECREF(m);
        return NULL;
    }
    PyModule_AddIntConstant(m, "MAX_EXTRA_STATS", SF_MAX_EXTRA_STATS);
    return m;
}
