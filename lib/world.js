'use strict'
// fit's `world` option: the processes of a data-parallel fit, as `mpiWorld()` returns it.

const { describe } = require('./frames.js')

/** This process's place in a data-parallel fit: `rank` of `size` processes. */
class World {
  constructor(rank, size) {
    this.rank = rank
    this.size = size
    Object.freeze(this)
  }
}

/**
 * fit's `world` and `sharded` as the engine takes them: undefined for a fit of this process
 * alone (no world, or a world of one), else whether each rank was given its own series.
 */
function worldOption(world, sharded, where) {
  if (sharded !== undefined && typeof sharded !== 'boolean') throw new TypeError(`${where} option 'sharded' must be true or false, got ${describe(sharded)}`)
  if (world === undefined) {
    if (sharded) throw new TypeError(`${where} option 'sharded' needs option 'world' (from mpiWorld() of 'neuro-divergent/distributed')`)
    return undefined
  }
  if (!(world instanceof World)) throw new TypeError(`${where} option 'world' must be the world mpiWorld() of 'neuro-divergent/distributed' returns, got ${describe(world)}`)
  return world.size > 1 ? sharded === true : undefined
}

module.exports = { World, worldOption }
