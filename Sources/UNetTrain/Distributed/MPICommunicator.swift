#if canImport(Glibc)
import Glibc
#endif
import _UNetSupport

/// `MPI_COMM_WORLD` of Open MPI (loaded at run time, see `OpenMPI`): the ranks of `mpirun -np N`.
///
/// `world()` initialises MPI only when nobody has (a host such as mpi4py may have), with
/// `MPI_THREAD_FUNNELED`: every collective must then come from the thread that made the first call. MPI
/// initialised here is finalised when the process exits (`atexit`); MPI initialised by the host stays the
/// host's to finalise.
public final class MPICommunicator: Communicator, @unchecked Sendable {
    /// This process's rank in `MPI_COMM_WORLD`.
    public let rank: Int
    /// Ranks in `MPI_COMM_WORLD`.
    public let size: Int
    /// Ranks on this machine (`OMPI_COMM_WORLD_LOCAL_SIZE`, which `mpirun` sets; 1 without it).
    public let localSize: Int
    private let mpi: OpenMPI

    private init(mpi: OpenMPI) {
        self.mpi = mpi
        (rank, size) = mpi.worldRankAndSize()
        localSize = getenv("OMPI_COMM_WORLD_LOCAL_SIZE").flatMap { Int(String(cString: $0)) }.map { max(1, $0) } ?? 1
    }

    /// The process's world communicator: loads Open MPI and initialises it on first use. `.io` when Open MPI
    /// is not installed, `.invalidArgument` once MPI has been finalised (it cannot start again).
    public static func world() throws(UnetsegError) -> MPICommunicator {
        try shared.withLock { (current: inout MPICommunicator?) throws(UnetsegError) -> MPICommunicator in
            if let current { return current }
            let mpi = try OpenMPI()
            try checkArgument(!mpi.isFinalized, "distributed training: MPI was already finalised in this process")
            if !mpi.isActive {
                try mpi.initialize()
                atexit { MPICommunicator.finalizeAtExit() }
            }
            let made = MPICommunicator(mpi: mpi)
            current = made
            return made
        }
    }

    /// Whether this process runs under Open MPI's `mpirun` (it sets `OMPI_COMM_WORLD_SIZE`).
    public static var launchedByMPIRun: Bool { getenv("OMPI_COMM_WORLD_SIZE") != nil }

    private static let shared = Locked<MPICommunicator?>(nil)

    /// Finalises the MPI this library initialised, unless the host finalised it already.
    private static func finalizeAtExit() {
        guard let world = shared.withLock({ $0 }), world.mpi.isActive else { return }
        world.mpi.finish()
    }

    /// `MPI_Allgather` of `bytes` bytes per rank over `MPI_COMM_WORLD`.
    public func allGather(_ send: UnsafeRawPointer, into receive: UnsafeMutableRawPointer, bytesPerRank bytes: Int32) {
        mpi.allGather(send, receive, bytesPerRank: bytes)
    }

    /// `MPI_Alltoall` of `bytes` bytes per rank pair over `MPI_COMM_WORLD`.
    public func allToAll(_ send: UnsafeRawPointer, into receive: UnsafeMutableRawPointer, bytesPerRank bytes: Int32) {
        mpi.allToAll(send, receive, bytesPerRank: bytes)
    }

    /// `MPI_Bcast` of `bytes` bytes from `root` over `MPI_COMM_WORLD`.
    public func broadcast(_ buffer: UnsafeMutableRawPointer, bytes: Int32, from root: Int) {
        mpi.broadcast(buffer, bytes: bytes, root: Int32(truncatingIfNeeded: root))
    }
}
