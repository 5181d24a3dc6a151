#if canImport(Glibc)
import Glibc
#endif
import _UNetSupport

/// Open MPI, loaded at run time: the library links no MPI, so it builds and runs where none is installed,
/// and uses the one a cluster has when a run asks for it.
///
/// Why `dlopen` + `dlsym` suffice (Open MPI's ABI, not MPI's: other MPIs such as MPICH define the handles
/// as integers, so this works with Open MPI only, as the project chose): in Open MPI 4.x `mpi.h` the handle
/// types are pointers to opaque structs (`typedef struct ompi_communicator_t *MPI_Comm`, likewise
/// `MPI_Datatype`, `MPI_Op`) and the predefined handles are the addresses of exported global objects:
/// `#define MPI_COMM_WORLD OMPI_PREDEFINED_GLOBAL(MPI_Comm, ompi_mpi_comm_world)`, which expands to
/// `((MPI_Comm) &(ompi_mpi_comm_world))`; `MPI_BYTE` is `&ompi_mpi_byte`. So `dlsym(handle, "ompi_mpi_comm_world")` is exactly the value a C program
/// compiled against that `mpi.h` passes as `MPI_COMM_WORLD`. The functions are plain C symbols with the
/// standard prototypes; `MPI_SUCCESS` is 0 and `MPI_THREAD_FUNNELED` is 1 (the enum's second value).
/// Open MPI keeps this ABI across the 4.x series (soname `libmpi.so.40`).
///
/// Only the calls the trainer needs are bound. Errors inside MPI keep Open MPI's default handler
/// (`MPI_ERRORS_ARE_FATAL`): a broken link aborts the whole job, which `mpirun` then ends on every rank.
final class OpenMPI: @unchecked Sendable {
    typealias Handle = UnsafeMutableRawPointer
    private typealias FlagFunction = @convention(c) (UnsafeMutablePointer<Int32>?) -> Int32
    private typealias InitThread = @convention(c) (UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?,
                                                   Int32, UnsafeMutablePointer<Int32>?) -> Int32
    private typealias CommQuery = @convention(c) (Handle?, UnsafeMutablePointer<Int32>?) -> Int32
    private typealias Exchange = @convention(c) (UnsafeRawPointer?, Int32, Handle?, UnsafeMutableRawPointer?, Int32,
                                                 Handle?, Handle?) -> Int32
    private typealias Broadcast = @convention(c) (UnsafeMutableRawPointer?, Int32, Handle?, Int32, Handle?) -> Int32
    private typealias Finalize = @convention(c) () -> Int32

    /// `MPI_THREAD_FUNNELED`: only the thread that initialised MPI calls it (the library's compute and
    /// loader threads never do).
    static let threadFunneled: Int32 = 1

    /// The library names tried, in order.
    static let libraryNames = ["libmpi.so.40", "libmpi.so"]

    /// `MPI_COMM_WORLD` and `MPI_BYTE`.
    let commWorld: Handle, byte: Handle
    private let initialized: FlagFunction, finalized: FlagFunction, initThread: InitThread
    private let commRank: CommQuery, commSize: CommQuery
    private let allgather: Exchange, alltoall: Exchange, bcast: Broadcast
    private let finalize: Finalize

    /// Loads Open MPI's library and binds its symbols; `.io` naming what is missing when it is not installed
    /// or is not Open MPI.
    init() throws(UnetsegError) {
        var handle: UnsafeMutableRawPointer?
        for name in Self.libraryNames {
            // RTLD_GLOBAL: Open MPI's own plugins (mca_*.so) resolve symbols of libmpi.
            handle = dlopen(name, RTLD_NOW | RTLD_GLOBAL)
            if handle != nil { break }
        }
        guard let handle else {
            throw .io("distributed training needs Open MPI (\(Self.libraryNames.joined(separator: " or ")) not found; "
                      + "on Debian: apt-get install openmpi-bin libopenmpi-dev)")
        }
        func symbol(_ name: String) throws(UnetsegError) -> UnsafeMutableRawPointer {
            guard let pointer = dlsym(handle, name) else {
                throw .io("\(Self.libraryNames[0]) has no symbol \(name): distributed training needs Open MPI 4")
            }
            return pointer
        }
        func function<F>(_ name: String, _ type: F.Type) throws(UnetsegError) -> F {
            unsafeBitCast(try symbol(name), to: type)
        }
        commWorld = try symbol("ompi_mpi_comm_world")
        byte = try symbol("ompi_mpi_byte")
        initialized = try function("MPI_Initialized", FlagFunction.self)
        finalized = try function("MPI_Finalized", FlagFunction.self)
        initThread = try function("MPI_Init_thread", InitThread.self)
        commRank = try function("MPI_Comm_rank", CommQuery.self)
        commSize = try function("MPI_Comm_size", CommQuery.self)
        allgather = try function("MPI_Allgather", Exchange.self)
        alltoall = try function("MPI_Alltoall", Exchange.self)
        bcast = try function("MPI_Bcast", Broadcast.self)
        finalize = try function("MPI_Finalize", Finalize.self)
    }

    /// Whether MPI is initialised (by anyone) and not yet finalised.
    var isActive: Bool {
        var started: Int32 = 0, ended: Int32 = 0
        _ = initialized(&started)
        _ = finalized(&ended)
        return started != 0 && ended == 0
    }

    /// Whether MPI was finalised (it cannot be initialised again).
    var isFinalized: Bool {
        var ended: Int32 = 0
        _ = finalized(&ended)
        return ended != 0
    }

    /// `MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided)`.
    func initialize() throws(UnetsegError) {
        var provided: Int32 = 0
        guard initThread(nil, nil, Self.threadFunneled, &provided) == 0 else {
            throw .io("MPI_Init_thread failed")
        }
    }

    /// `MPI_Finalize()`.
    func finish() { _ = finalize() }

    /// This process's rank and the number of ranks in `MPI_COMM_WORLD`.
    func worldRankAndSize() -> (rank: Int, size: Int) {
        var rank: Int32 = 0, size: Int32 = 1
        _ = commRank(commWorld, &rank)
        _ = commSize(commWorld, &size)
        return (Int(rank), Int(size))
    }

    /// `MPI_Allgather` of `count` bytes per rank.
    func allGather(_ send: UnsafeRawPointer, _ receive: UnsafeMutableRawPointer, bytesPerRank count: Int32) {
        _ = allgather(send, count, byte, receive, count, byte, commWorld)
    }

    /// `MPI_Alltoall` of `count` bytes per rank pair.
    func allToAll(_ send: UnsafeRawPointer, _ receive: UnsafeMutableRawPointer, bytesPerRank count: Int32) {
        _ = alltoall(send, count, byte, receive, count, byte, commWorld)
    }

    /// `MPI_Bcast` of `count` bytes from `root`.
    func broadcast(_ buffer: UnsafeMutableRawPointer, bytes count: Int32, root: Int32) {
        _ = bcast(buffer, count, byte, root, commWorld)
    }

}
