import CUNetSegTypes
import UNetSegC

/// The dataset, loader and library-wide calls of a C API fuzz program.
extension CAPIProgram {
    typealias Dataset = UnsafeMutablePointer<unetseg_dataset>
    typealias Loader = UnsafeMutablePointer<unetseg_loader>

    mutating func dataset() throws(FuzzViolation) {
        let op = reader.byte() % 6
        let d: Dataset? = handle()
        let (index, epoch) = (reader.size(), reader.size())
        switch op {
        case 0:
            var params = unetseg_dataset_default_params()
            params.augmentation.enabled = reader.bool()
            params.augmentation.scale = reader.float()
            params.augmentation.angle = reader.float()
            params.augmentation.flip = reader.float()
            params.random_sampling = reader.bool()
            params.seed = reader.uint64()
            let path = fixture.path(reader.byte())
            var out: Dataset?
            try checkMade(.dataset, unetseg_dataset_open(path, &params, &out), out, "unetseg_dataset_open")
        case 1:
            var length: Int64 = 0
            try plain("unetseg_dataset_length", unetseg_dataset_length(d, &length))
        case 2:
            var (h, w): (Int64, Int64) = (0, 0)
            try plain("unetseg_dataset_image_size", unetseg_dataset_image_size(d, &h, &w))
        case 3:
            try tensorPair("unetseg_dataset_get_item") { unetseg_dataset_get_item(d, index, epoch, $0, $1) }
        case 4:
            var slice: Int64 = 0
            try plain("unetseg_dataset_sampled_slice", unetseg_dataset_sampled_slice(d, index, epoch, &slice))
        default:
            var patient = [CChar](repeating: 0, count: Int(epoch & 63))
            var number: Int32 = 0, lesion: Int64 = 0
            try plain("unetseg_dataset_slice_info",
                      unetseg_dataset_slice_info(d, index, &patient, UInt(patient.count), &number, &lesion))
        }
    }

    mutating func loader() throws(FuzzViolation) {
        let op = reader.byte() % 5
        var params = unetseg_loader_default_params()
        params.batch_size = Int32(truncatingIfNeeded: reader.size())
        params.shuffle = reader.bool()
        params.drop_last = reader.bool()
        params.workers = Int32(truncatingIfNeeded: reader.size() % 8)
        params.seed = reader.uint64()
        let epoch = reader.size()
        switch op {
        case 0:
            let d: Dataset? = handle()
            var out: Loader?
            try checkMade(.loader, unetseg_loader_create(d, &params, &out), out, "unetseg_loader_create")
        case 1:
            let l: Loader? = handle()
            var (images, masks): (Tensor?, Tensor?) = (nil, nil)
            let status = unetseg_loader_next(l, &images, &masks)
            // The end of an epoch succeeds with NULL batches, so a pair is checked only to be all or nothing.
            try checkStatus(status, "unetseg_loader_next")
            guard (images == nil) == (masks == nil), status == 0 || images == nil else {
                throw FuzzViolation("unetseg_loader_next: status \(status) with one batch tensor")
            }
            for t in [images, masks] { if let t { keep(.tensor, t) } }
        case 2:
            let l: Loader? = handle()
            try plain("unetseg_loader_reset", unetseg_loader_reset(l, epoch))
        case 3:
            let l: Loader? = handle()
            var length: Int64 = 0
            try plain("unetseg_loader_length", unetseg_loader_length(l, &length))
        default:
            let l: Loader? = handle()
            var current: Int64 = 0
            try plain("unetseg_loader_epoch", unetseg_loader_epoch(l, &current))
        }
    }

    /// Status names, threads and the global seed. The thread count is restored after each program.
    mutating func library() throws(FuzzViolation) {
        let op = reader.byte() % 3
        let value = Int32(truncatingIfNeeded: reader.size())
        switch op {
        case 0:
            let name = String(cString: unetseg_status_string(value))
            guard !name.isEmpty else { throw FuzzViolation("unetseg_status_string(\(value)) is empty") }
        case 1:
            // Up to 8 threads: a valid count of hundreds would only make every later call slow.
            try plain("unetseg_set_num_threads", unetseg_set_num_threads(value > 8 ? value | 0x4000_0000 : value))
        default:
            unetseg_manual_seed(UInt64(bitPattern: Int64(value)))
        }
    }
}
