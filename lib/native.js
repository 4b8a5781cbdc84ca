'use strict'
// The addon. Under an MPI launcher, the MPI build when one was built (`npm run build:mpi`), so
// `neuro-divergent/distributed` can train across processes; otherwise the default build, which
// links no MPI (an addon linked to libmpi fails to load where libmpi is absent).

const { readdirSync } = require('node:fs')
const { join } = require('node:path')

const ROOT = join(__dirname, '..')
/** Set by mpirun/mpiexec (Open MPI), Hydra (MPICH, Intel MPI) and PMIx launchers such as srun. */
const LAUNCHER_VARIABLES = ['OMPI_COMM_WORLD_SIZE', 'PMI_SIZE', 'PMIX_RANK']

function underLauncher(env = process.env) {
  return LAUNCHER_VARIABLES.some((k) => env[k] !== undefined)
}

/** The MPI build's file for this platform, if one was built. */
function mpiAddon() {
  const prefix = `neuro-divergent.${process.platform}-${process.arch}`
  const file = readdirSync(ROOT).find((f) => f.startsWith(prefix) && f.endsWith('.mpi.node'))
  return file && join(ROOT, file)
}

const mpiPath = underLauncher() ? mpiAddon() : undefined
const native = mpiPath ? require(mpiPath) : require('../binding.js')

module.exports = { native, underLauncher, mpiLoaded: mpiPath !== undefined, LAUNCHER_VARIABLES }
