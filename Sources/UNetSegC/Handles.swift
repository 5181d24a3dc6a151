import CUNetSegTypes
import UNetData
import UNetNN
import UNetTensor
import UNetTrain
import _UNetSupport

/// A Swift object that C code holds through an opaque handle of type `CType` (`unetseg_tensor`, ...).
///
/// Conformers are `Sendable` because handles may be passed between threads; calls on one handle are
/// serialised by its `HandleLock` (taken by `Handles.object`), which is what makes the `@unchecked` boxes
/// below safe.
protocol HandleTarget: AnyObject, Sendable {
    /// The C struct the handle points to (never dereferenced).
    associatedtype CType
    /// The C type's name, for messages ("unetseg_tensor").
    static var cTypeName: String { get }
}

/// The live handles of the process.
///
/// A handle is not the object's address but a number that is never reused (a multiple of 16, so that it
/// looks like an aligned pointer to tools that print it). So a handle that was freed, or one of another
/// kind, is always recognised, and C never holds a pointer into Swift memory. The table keeps each object
/// alive until its handle is freed, with the lock that serialises the calls on it.
enum Handles {
    private struct Entry {
        let object: any HandleTarget
        let lock: HandleLock
    }

    private struct Table {
        var next: UInt = 1
        var live: [UInt: Entry] = [:]
    }

    private static let table = Locked(Table())
    private static let spacing: UInt = 16

    /// Registers `object` and returns its new handle. Its calls are serialised with those of the live
    /// handle `sharingLockWith` (an object whose state `object` changes: the model of an optimiser), or on
    /// their own.
    static func register<T: HandleTarget>(_ object: T, sharingLockWith other: UnsafeRawPointer? = nil) throws(UnetsegError)
        -> UnsafeMutablePointer<T.CType> {
        let id = table.withLock { table in
            let id = table.next
            table.next += 1
            let shared = other.flatMap { key(of: $0) }.flatMap { table.live[$0]?.lock }
            table.live[id] = Entry(object: object, lock: shared ?? HandleLock())
            return id
        }
        let (address, overflow) = id.multipliedReportingOverflow(by: spacing)
        guard !overflow, let handle = UnsafeMutablePointer<T.CType>(bitPattern: address) else {
            _ = table.withLock { $0.live.removeValue(forKey: id) }
            throw .internal("handle numbers exhausted")
        }
        return handle
    }

    /// The object behind `handle`, which the caller passed as `argument`, with the handle's lock held until
    /// the current C call returns (`HeldHandleLocks`); throws for NULL, for a handle that is not live and
    /// for a handle of another type.
    static func object<T: HandleTarget>(_ handle: UnsafeRawPointer?, _ type: T.Type,
                                        _ argument: String) throws(UnetsegError) -> T {
        guard let handle else { throw .invalidArgument("\(argument) is NULL") }
        let entry = lookUp(handle)
        guard let entry else {
            throw .invalidArgument("\(argument) is not a live \(T.cTypeName) (freed already, or not made by this library)")
        }
        guard let object = entry.object as? T else {
            throw .invalidArgument("\(argument) is a \(Swift.type(of: entry.object).cTypeName), not a \(T.cTypeName)")
        }
        try HeldHandleLocks.acquire(entry.lock, for: argument)
        return object
    }

    /// Frees `handle` (NULL is ignored). A handle that is not a live `T` is left alone and logged as a
    /// warning, for `function`.
    static func release<T: HandleTarget>(_ handle: UnsafeRawPointer?, _ type: T.Type, _ function: String) {
        guard let handle else { return }
        let removed: Entry? = table.withLock { table in
            guard let id = key(of: handle), let entry = table.live[id], entry.object is T else { return nil }
            return table.live.removeValue(forKey: id)
        }
        // The object (and everything only it kept alive) is released here, outside the lock.
        if removed == nil {
            let what = lookUp(handle).map { "a \(Swift.type(of: $0.object).cTypeName)" } ?? "not live (freed twice?)"
            Log.emit(UNETSEG_LOG_WARNING, "\(cFunctionName(function)): ignoring handle \(handle), which is \(what)")
        }
    }

    /// Number of handles not yet freed.
    static var liveCount: Int { table.withLock { $0.live.count } }

    private static func lookUp(_ handle: UnsafeRawPointer) -> Entry? {
        guard let id = key(of: handle) else { return nil }
        return table.withLock { $0.live[id] }
    }

    /// The table key of `handle`, nil for a value no handle can have.
    private static func key(of handle: UnsafeRawPointer) -> UInt? {
        let address = UInt(bitPattern: handle)
        return address % spacing == 0 ? address / spacing : nil
    }
}

// MARK: - The objects behind each handle type

extension Tensor: HandleTarget {
    typealias CType = unetseg_tensor
    static var cTypeName: String { "unetseg_tensor" }
}

/// A model with its named parameters, listed once (the order of `state_dict`).
final class ModelHandle: HandleTarget, @unchecked Sendable {
    typealias CType = unetseg_model
    static var cTypeName: String { "unetseg_model" }

    /// The network.
    let model: UNet
    /// `model.namedParameters()`, in order: the indices of `unetseg_model_parameter_*`.
    let parameters: [(name: String, tensor: Tensor)]
    /// `model.namedBuffers()`, in order: the indices of `unetseg_model_buffer_*` (none without batch norm).
    let buffers: [(name: String, tensor: Tensor)]
    /// The seed it was initialised with (-1: the global generator, or loaded from a file).
    let seed: Int64
    /// The normalisation it was trained with, as recorded in the checkpoint it was loaded from or by the
    /// training run that made it (nil: nothing recorded).
    let normalization: IntensityNormalization?

    init(_ model: UNet, seed: Int64, normalization: IntensityNormalization? = nil) {
        self.model = model
        self.parameters = model.namedParameters()
        self.buffers = model.namedBuffers()
        self.seed = seed
        self.normalization = normalization
    }
}

/// An SGD optimiser.
final class SGDHandle: HandleTarget, @unchecked Sendable {
    typealias CType = unetseg_sgd
    static var cTypeName: String { "unetseg_sgd" }

    /// The optimiser.
    let optimizer: SGD
    init(_ optimizer: SGD) { self.optimizer = optimizer }
}

/// A one-cycle schedule (it keeps its optimiser alive).
final class OneCycleHandle: HandleTarget, @unchecked Sendable {
    typealias CType = unetseg_one_cycle
    static var cTypeName: String { "unetseg_one_cycle" }

    /// The schedule.
    let scheduler: OneCycleLR
    init(_ scheduler: OneCycleLR) { self.scheduler = scheduler }
}

/// A dataset: `BrainSegDataset` is immutable and safe to read from several threads.
extension BrainSegDataset: HandleTarget {
    typealias CType = unetseg_dataset
    static var cTypeName: String { "unetseg_dataset" }
}

/// A data loader with its position: the epoch `next` reads and that epoch's iterator once started.
final class LoaderHandle: HandleTarget, @unchecked Sendable {
    typealias CType = unetseg_loader
    static var cTypeName: String { "unetseg_loader" }

    /// The loader (it keeps its dataset alive).
    let loader: DataLoader
    /// The epoch `unetseg_loader_next` reads.
    var epoch = 1
    /// The iterator over `epoch`, nil until its first batch is asked for.
    var iterator: DataLoader.Iterator?

    init(_ loader: DataLoader) { self.loader = loader }
}

/// The result of an evaluation.
final class EvaluationHandle: HandleTarget, @unchecked Sendable {
    typealias CType = unetseg_evaluation
    static var cTypeName: String { "unetseg_evaluation" }

    /// The scores.
    let result: EvaluationResult
    init(_ result: EvaluationResult) { self.result = result }
}

// MARK: - Typed access for the @c functions

extension Handles {
    /// The tensor behind `handle` (argument name `argument`, for messages).
    static func tensor(_ handle: UnsafePointer<unetseg_tensor>?, _ argument: String = "tensor") throws(UnetsegError) -> Tensor {
        try object(UnsafeRawPointer(handle), Tensor.self, argument)
    }

    /// The tensor behind a mutable `handle`.
    static func tensor(_ handle: UnsafeMutablePointer<unetseg_tensor>?, _ argument: String = "tensor") throws(UnetsegError) -> Tensor {
        try object(UnsafeRawPointer(handle), Tensor.self, argument)
    }

    /// The model behind `handle`.
    static func model(_ handle: UnsafePointer<unetseg_model>?) throws(UnetsegError) -> ModelHandle {
        try object(UnsafeRawPointer(handle), ModelHandle.self, "model")
    }

    /// The model behind a mutable `handle`.
    static func model(_ handle: UnsafeMutablePointer<unetseg_model>?) throws(UnetsegError) -> ModelHandle {
        try object(UnsafeRawPointer(handle), ModelHandle.self, "model")
    }

    /// The optimiser behind `handle`.
    static func sgd(_ handle: UnsafeMutablePointer<unetseg_sgd>?) throws(UnetsegError) -> SGD {
        try object(UnsafeRawPointer(handle), SGDHandle.self, "optimizer").optimizer
    }

    /// The schedule behind `handle`.
    static func oneCycle(_ handle: UnsafePointer<unetseg_one_cycle>?) throws(UnetsegError) -> OneCycleLR {
        try object(UnsafeRawPointer(handle), OneCycleHandle.self, "scheduler").scheduler
    }

    /// The schedule behind a mutable `handle`.
    static func oneCycle(_ handle: UnsafeMutablePointer<unetseg_one_cycle>?) throws(UnetsegError) -> OneCycleLR {
        try object(UnsafeRawPointer(handle), OneCycleHandle.self, "scheduler").scheduler
    }
}

extension Handles {
    /// The dataset behind `handle`.
    static func dataset(_ handle: UnsafePointer<unetseg_dataset>?) throws(UnetsegError) -> BrainSegDataset {
        try object(UnsafeRawPointer(handle), BrainSegDataset.self, "dataset")
    }

    /// The loader behind `handle`.
    static func loader(_ handle: UnsafePointer<unetseg_loader>?) throws(UnetsegError) -> LoaderHandle {
        try object(UnsafeRawPointer(handle), LoaderHandle.self, "loader")
    }

    /// The loader behind a mutable `handle`.
    static func loader(_ handle: UnsafeMutablePointer<unetseg_loader>?) throws(UnetsegError) -> LoaderHandle {
        try object(UnsafeRawPointer(handle), LoaderHandle.self, "loader")
    }

    /// The evaluation result behind `handle`.
    static func evaluation(_ handle: UnsafePointer<unetseg_evaluation>?) throws(UnetsegError) -> EvaluationResult {
        try object(UnsafeRawPointer(handle), EvaluationHandle.self, "evaluation").result
    }
}

/// Runs `body` and stores a new handle to the object it returns in `*out` (the caller's `argument`),
/// serialised with the handle `other` if given (see `Handles.register`); `*out` is NULL whenever the
/// status is not OK.
func returningHandle<T: HandleTarget>(_ out: UnsafeMutablePointer<UnsafeMutablePointer<T.CType>?>?,
                                      _ argument: String, sharingLockWith other: UnsafeRawPointer? = nil,
                                      function: String, _ body: () throws(UnetsegError) -> T) -> Int32 {
    withStatus(function) { () throws(UnetsegError) in
        let out = try nonNull(out, argument)
        out.pointee = nil
        out.pointee = try Handles.register(try body(), sharingLockWith: other)
    }
}

/// Runs `body` and stores new handles to the two tensors it returns in `*out_first` and `*out_second`
/// (the caller's `firstArgument` and `secondArgument`: an image and its mask). Both are NULL whenever the
/// status is not OK, and both NULL when `body` returns nil (the end of a loader's epoch).
func returningTensorPair(_ outFirst: TensorOut?, _ firstArgument: String, _ outSecond: TensorOut?,
                         _ secondArgument: String, function: String,
                         _ body: () throws(UnetsegError) -> (Tensor, Tensor)?) -> Int32 {
    withStatus(function) { () throws(UnetsegError) in
        let first = try nonNull(outFirst, firstArgument), second = try nonNull(outSecond, secondArgument)
        first.pointee = nil
        second.pointee = nil
        guard let (a, b) = try body() else { return }
        let handle = try Handles.register(a)
        do throws(UnetsegError) {
            second.pointee = try Handles.register(b)
        } catch {
            Handles.release(UnsafeRawPointer(handle), Tensor.self, function)
            throw error
        }
        first.pointee = handle
    }
}
