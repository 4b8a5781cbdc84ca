//! fit's `world`: the MPI world of the `mpi` build (`npm run build:mpi`). The default build has
//! no MPI, and a fit with a world of more than one process is refused there.

use crate::forecast::World;

/// The world a data-parallel fit trains in (`sharded`: each rank was given its own series).
#[cfg(feature = "mpi")]
pub fn world(sharded: bool) -> crate::Result<World> {
    Ok(World { collective: crate::train::mpi::world()?, sharded })
}

#[cfg(not(feature = "mpi"))]
pub fn world(_sharded: bool) -> crate::Result<World> {
    Err(crate::error::Error::value("fit option 'world': this build of neuro-divergent has no MPI; under an MPI launcher, build it with `npm run build:mpi`"))
}

#[cfg(feature = "mpi")]
mod mpi_world {
    use napi::Env;
    use napi_derive::napi;

    /// This process's rank in `MPI_COMM_WORLD`, and the world's size.
    #[napi(object)]
    pub struct MpiRank {
        pub rank: u32,
        pub size: u32,
    }

    /// Starts MPI (once per process) and returns this process's rank. MPI is finalised when the
    /// main environment ends (a process that initialised MPI must finalise it before it exits).
    #[napi(catch_unwind)]
    pub fn mpi_world(env: Env) -> napi::Result<MpiRank> {
        use crate::train::Collective;
        static HOOKED: std::sync::Once = std::sync::Once::new();
        let world = crate::train::mpi::world().map_err(super::super::error::to_js)?;
        let mut hooked = Ok(());
        HOOKED.call_once(|| hooked = env.add_env_cleanup_hook((), |_| crate::train::mpi::finalize(std::time::Duration::from_secs(30))).map(|_| ()));
        hooked?;
        Ok(MpiRank { rank: world.rank() as u32, size: world.size() as u32 })
    }
}
