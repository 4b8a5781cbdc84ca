/**
 * neuro-divergent/distributed: data-parallel training of one model over MPI.
 *
 * Run the script under an MPI launcher (`mpirun -n 2 node train.mjs`, `srun`, a Kubernetes
 * MPIJob) with the MPI build of the addon (`npm run build:mpi`; it needs an MPI library with its
 * headers, e.g. Debian's libopenmpi-dev, and libclang-dev). The default build links no MPI.
 *
 * @example
 * import { NeuralForecast, MLP } from 'neuro-divergent'
 * import { mpiWorld } from 'neuro-divergent/distributed'
 * const world = mpiWorld()                    // { rank, size }; rank 0 of 1 without a launcher
 * const nf = new NeuralForecast({ models: [new MLP({ h: 12, inputSize: 24 })], freq: 'MS' })
 * await nf.fit(df, { world })                 // every rank the same df: ranks split each batch
 * await nf.fit(myShard, { world, sharded: true }) // or each rank its own series
 * // A launcher that restarts the failed job resumes every rank from rank 0's checkpoint:
 * await nf.fit(df, { world, checkpointEvery: 50, checkpointPath: '/scratch/run.ckpt', resume: true })
 */

/** This process's place in a data-parallel fit. */
export declare class World {
  #private
  private constructor()
  /** 0 to size - 1. */
  readonly rank: number
  /** Processes training together. */
  readonly size: number
}

/**
 * This process's MPI world (MPI starts on the first call and is finalised when the process's
 * main environment ends). Without an MPI launcher, a world of one: the fit is a plain fit. Under
 * a launcher without the MPI build, throws a NeuroDivergentError saying to run `npm run build:mpi`.
 * Call it on the main thread.
 */
export declare function mpiWorld(): World
