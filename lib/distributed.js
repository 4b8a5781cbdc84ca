'use strict'
// neuro-divergent/distributed: data-parallel training over MPI. Run the script under an MPI
// launcher (mpirun -n 4 node train.mjs) with the MPI build of the addon (`npm run build:mpi`).

const { native, underLauncher, mpiLoaded } = require('./native.js')
const { World } = require('./world.js')
const { NeuroDivergentError } = require('./errors.js')

let world

/**
 * This process's MPI world, `{ rank, size }`: pass it to `fit(df, { world })`. Without a
 * launcher, a world of one (rank 0 of 1), so the same script runs as a plain fit.
 */
function mpiWorld() {
  if (world) return world
  if (!underLauncher()) return (world = new World(0, 1))
  if (!mpiLoaded) {
    throw new NeuroDivergentError(
      'mpiWorld(): this process runs under an MPI launcher, but the MPI build of neuro-divergent is missing: run `npm run build:mpi` in the package (it needs an MPI library with its headers, e.g. Debian libopenmpi-dev, and libclang-dev)',
    )
  }
  const { rank, size } = native.mpiWorld()
  return (world = new World(rank, size))
}

module.exports = { mpiWorld, World }
