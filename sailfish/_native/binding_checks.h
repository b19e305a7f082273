// Checks at the Python boundary, for module.c: an env name and a {name: value} config dict
// resolved against the registry and the env's parameter table (errors name the key, its range and
// the known names), and caller buffers taken through the buffer protocol and checked for dtype,
// contiguity, alignment and shape (errors name the buffer and the fix). Nothing here runs in step:
// these serve VecEnv creation, spec(), render() and compute_advantages(). module.c is the only
// includer, so the functions stay plain static, as they were there.
#ifndef SAILFISH_BINDING_CHECKS_H
#define SAILFISH_BINDING_CHECKS_H
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "vecenv.h"

// ---------------------------------------------------------------- config
// Resolves a {name: value} dict against an env's parameter table into `cfg`.
static int parse_config(const EnvDesc* desc, PyObject* config, double* cfg) {
    for (int i = 0; i < desc->num_params; i++) cfg[i] = desc->params[i].def;
    if (config == NULL || config == Py_None) return 0;
    if (!PyDict_Check(config)) {
        PyErr_SetString(PyExc_TypeError, "config must be a dict");
        return -1;
    }
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(config, &pos, &key, &value)) {
        const char* name = PyUnicode_Check(key) ? PyUnicode_AsUTF8(key) : NULL;
        if (!name) {
            PyErr_SetString(PyExc_TypeError, "config keys must be strings");
            return -1;
        }
        int k = -1;
        for (int i = 0; i < desc->num_params; i++)
            if (strcmp(desc->params[i].name, name) == 0) k = i;
        if (k < 0) {
            PyObject* known = PyUnicode_FromString("");
            for (int i = 0; i < desc->num_params && known; i++) {
                PyObject* next = PyUnicode_FromFormat("%U%s%s", known, i ? ", " : "", desc->params[i].name);
                Py_DECREF(known);
                known = next;
            }
            if (known) {
                PyErr_Format(PyExc_ValueError, "%s: unknown config key '%s' (known: %U)", desc->name, name,
                             known);
                Py_DECREF(known);
            }
            return -1;
        }
        const ParamDesc* p = &desc->params[k];
        if (!PyNumber_Check(value) || PyComplex_Check(value)) {
            PyErr_Format(PyExc_ValueError, "%s: config '%s' must be a number, got %R", desc->name, name, value);
            return -1;
        }
        double v = PyFloat_AsDouble(value);
        if (v == -1.0 && PyErr_Occurred()) return -1;
        if (p->is_int && v != floor(v)) {
            PyErr_Format(PyExc_ValueError, "%s: config '%s' must be an integer, got %R", desc->name, name, value);
            return -1;
        }
        if (!(v >= p->lo && v <= p->hi)) {
            PyObject* lo = PyFloat_FromDouble(p->lo);
            PyObject* hi = PyFloat_FromDouble(p->hi);
            PyErr_Format(PyExc_ValueError, "%s: config '%s' must be in [%R, %R], got %R", desc->name, name, lo, hi,
                         value);
            Py_XDECREF(lo);
            Py_XDECREF(hi);
            return -1;
        }
        cfg[k] = v;
    }
    return 0;
}

static const EnvDesc* find_env_or_raise(const char* name) {
    const EnvDesc* desc = sf_find_env(name);
    if (!desc) {
        PyObject* known = PyUnicode_FromString("");
        for (int i = 0; i < sf_registry_size && known; i++) {
            PyObject* next = PyUnicode_FromFormat("%U%s%s", known, i ? ", " : "", sf_registry[i]->name);
            Py_DECREF(known);
            known = next;
        }
        if (known) {
            PyErr_Format(PyExc_ValueError, "unknown env '%s' (known: %U)", name, known);
            Py_DECREF(known);
        }
    }
    return desc;
}

static int resolve(const char* name, PyObject* config, const EnvDesc** desc, double* cfg, EnvLayout* layout) {
    *desc = find_env_or_raise(name);
    if (!*desc) return -1;
    if (parse_config(*desc, config, cfg) < 0) return -1;
    const char* err = sf_check_config(*desc, cfg, layout);
    if (err) {
        PyErr_Format(PyExc_ValueError, "%s: %s", (*desc)->name, err);
        return -1;
    }
    return 0;
}

// ---------------------------------------------------------------- buffers
// Takes a writable C-contiguous, aligned view of `obj` holding `rows` rows of `row_items`
// items of the given format; raises ValueError naming the buffer and the fix otherwise.
static int get_buffer(PyObject* obj, Py_buffer* view, const char* what, const char* formats, Py_ssize_t itemsize,
                      const char* dtype, Py_ssize_t rows, Py_ssize_t row_items) {
    if (PyObject_GetBuffer(obj, view, PyBUF_STRIDES | PyBUF_FORMAT | PyBUF_WRITABLE) < 0) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "%s: must be a writable NumPy array of dtype %s", what, dtype);
        return -1;
    }
    const char* fmt = view->format ? view->format : "B";
    while (*fmt == '@' || *fmt == '=' || *fmt == '<') fmt++;
    const char* why = NULL;
    if (view->itemsize != itemsize || strlen(fmt) != 1 || !strchr(formats, fmt[0])) why = "has the wrong dtype";
    else if (!PyBuffer_IsContiguous(view, 'C')) why = "is not C-contiguous (use np.ascontiguousarray)";
    else if (((uintptr_t)view->buf) % (uintptr_t)itemsize) why = "is not aligned to its item size";
    else if (view->ndim < 1 || view->shape[0] != rows || view->len / itemsize != rows * row_items) why = "has the wrong shape";
    if (why) {
        PyObject* shape = PyTuple_New(view->ndim);
        for (int i = 0; shape && i < view->ndim; i++) PyTuple_SET_ITEM(shape, i, PyLong_FromSsize_t(view->shape[i]));
        PyErr_Format(PyExc_ValueError, "%s %s: expected %zd rows of %zd %s items, got shape %R format '%s'", what,
                     why, rows, row_items, dtype, shape, view->format ? view->format : "B");
        Py_XDECREF(shape);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

#endif
