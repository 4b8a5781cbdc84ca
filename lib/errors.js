'use strict'
// JS error classes, and the one place that turns the engine's `[nd:Kind] message` errors into them.

/** Base class of every error neuro-divergent throws that is not a TypeError/RangeError/AbortError. */
class NeuroDivergentError extends Error {
  constructor(message, options) {
    super(message, options)
    this.name = 'NeuroDivergentError'
  }
}

/** A saved model file that is corrupted, truncated, or from a newer version. */
class ModelFileError extends NeuroDivergentError {
  constructor(message, options) {
    super(message, options)
    this.name = 'ModelFileError'
  }
}

/** Work stopped through an AbortSignal (same name and code as the DOM's AbortError). */
class AbortError extends Error {
  constructor(message = 'The operation was aborted', options) {
    super(message, options)
    this.name = 'AbortError'
    this.code = 'ABORT_ERR'
  }
}

const PREFIX = /^\[nd:(\w+)\] /

/** The JS error for an engine error (or `e` itself when it did not come from the engine). */
function translate(e) {
  // napi-rs rejects work cancelled before it started (AsyncTask::with_signal) with its own AbortError.
  if (e instanceof Error && e.name === 'AbortError' && !(e instanceof AbortError)) return new AbortError()
  const m = e && typeof e.message === 'string' ? PREFIX.exec(e.message) : null
  if (!m) return e
  const message = e.message.slice(m[0].length)
  switch (m[1]) {
    case 'TypeError':
      return new TypeError(message)
    case 'RangeError':
      return new RangeError(message)
    case 'AbortError':
      return new AbortError(message)
    case 'FormatError':
      return new ModelFileError(message)
    default: {
      const err = new NeuroDivergentError(message)
      if (m[1] === 'IoError') err.code = 'EIO'
      return err
    }
  }
}

/** Calls `fn`, rethrowing engine errors as their JS classes (sync or async). */
function wrap(fn) {
  try {
    const r = fn()
    return r && typeof r.then === 'function' ? r.catch((e) => Promise.reject(translate(e))) : r
  } catch (e) {
    throw translate(e)
  }
}

module.exports = { NeuroDivergentError, ModelFileError, AbortError, translate, wrap }
