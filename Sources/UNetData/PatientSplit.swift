import UNetTensor
import _UNetSupport

/// A train/validation split by patient (the post keeps 30 of 110 patients for validation, seed 777).
///
/// `make` is a pure function of the sorted patient names, the count and the seed, so the split does not
/// depend on the order a folder lists its entries. `apply` lays the split out as two folders of links to the
/// source's patient folders (copies where links are impossible); the source is never changed.
public struct PatientSplit: Sendable, Equatable {
    /// Training patients, sorted.
    public var train: [String]
    /// Validation patients, sorted.
    public var valid: [String]
    /// The seed the validation patients were drawn with.
    public var seed: UInt64

    /// A split with the given lists as they are (e.g. read back from a file).
    public init(train: [String], valid: [String], seed: UInt64) {
        self.train = train
        self.valid = valid
        self.seed = seed
    }

    /// Chooses `nValid` of `patients` (distinct, non-empty folder names without `/`) for validation
    /// uniformly at random with `RandomGenerator(seed:)` (a partial Fisher–Yates shuffle of the sorted
    /// names); the others are for training.
    public static func make(patients: [String], nValid: Int, seed: UInt64) throws(UnetsegError) -> PatientSplit {
        try checkArgument(nValid >= 0 && nValid <= patients.count,
                    "patient split: cannot choose \(nValid) validation patients out of \(patients.count)")
        for name in patients {
            try checkArgument(isValidName(name), "patient split: '\(name)' is not a folder name")
        }
        var names = patients.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        for i in names.indices.dropFirst() where names[i] == names[i - 1] {
            throw .invalidArgument("patient split: patient '\(names[i])' is listed twice")
        }
        var generator = RandomGenerator(seed: seed)
        for i in 0..<nValid {
            let j = i + generator.integer(below: names.count - i)
            names.swapAt(i, j)
        }
        func sorted(_ part: ArraySlice<String>) -> [String] {
            part.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        }
        return PatientSplit(train: sorted(names[nValid...]), valid: sorted(names[..<nValid]), seed: seed)
    }

    /// The patient folders of a dataset root (its sub-folders, hidden ones excluded), sorted.
    public static func patients(in root: String) throws(UnetsegError) -> [String] {
        guard FileSystem.isDirectory(root) else { throw .io("dataset folder \(root) does not exist or is not a folder") }
        return try FileSystem.listDirectory(root).filter {
            !$0.hasPrefix(".") && FileSystem.isDirectory(FileSystem.joined(root, $0))
        }
    }

    /// Fills `trainDir` and `validDir` with one entry per patient of the split: a symbolic link to
    /// `root/<patient>` (absolute), or a copy of that folder where the file system refuses links.
    /// Each destination must be missing (it is created) or an empty folder, the two must differ, and
    /// neither may lie inside `root` or contain it. Every patient folder must exist under `root`. With
    /// `overwrite`, a non-empty destination is emptied first (links are removed, never followed), once
    /// every other check has passed. On failure the entries made so far are removed again; `root` is never
    /// modified.
    public func apply(root: String, trainDir: String, validDir: String, overwrite: Bool = false) throws(UnetsegError) {
        guard FileSystem.isDirectory(root) else { throw .io("dataset folder \(root) does not exist or is not a folder") }
        let rootPath = try FileSystem.canonicalPath(root)
        let trainPath = try FileSystem.resolvedPath(trainDir), validPath = try FileSystem.resolvedPath(validDir)
        var toEmpty: [String] = []
        try checkArgument(trainPath != validPath, "patient split: training and validation folders are the same (\(trainPath))")
        for (label, path) in [("training", trainPath), ("validation", validPath)] {
            try checkArgument(!FileSystem.overlaps(path, rootPath),
                        "patient split: the \(label) folder \(path) overlaps the dataset folder \(rootPath)")
            try checkArgument(!FileSystem.overlaps(path, label == "training" ? validPath : trainPath),
                        "patient split: the training folder \(trainPath) and validation folder \(validPath) are nested")
            if FileSystem.exists(path) {
                guard FileSystem.isDirectory(path) else { throw .io("\(label) folder \(path) exists and is not a folder") }
                if try !FileSystem.listDirectory(path).isEmpty {
                    guard overwrite else {
                        throw .io("\(label) folder \(path) is not empty; remove it, choose another or pass overwrite")
                    }
                    toEmpty.append(path)
                }
            }
        }
        try checkArgument(Set(train + valid).count == train.count + valid.count,
                    "patient split: a patient is listed more than once")
        for name in train + valid {
            try checkArgument(PatientSplit.isValidName(name), "patient split: '\(name)' is not a folder name")
            guard FileSystem.isDirectory(FileSystem.joined(rootPath, name)) else {
                throw .io("patient folder \(FileSystem.joined(rootPath, name)) does not exist")
            }
        }
        for folder in toEmpty {
            for name in try FileSystem.listDirectory(folder) { try FileSystem.removeTree(FileSystem.joined(folder, name)) }
        }
        try FileSystem.makeDirectories(trainPath)
        try FileSystem.makeDirectories(validPath)
        var made: [String] = []
        do throws(UnetsegError) {
            for (names, destination) in [(train, trainPath), (valid, validPath)] {
                for name in names {
                    let source = FileSystem.joined(rootPath, name), entry = FileSystem.joined(destination, name)
                    do throws(UnetsegError) {
                        try FileSystem.createSymbolicLink(at: entry, pointingTo: source)
                    } catch {
                        do throws(UnetsegError) {
                            try FileSystem.copyTree(from: source, to: entry)
                        } catch {
                            try? FileSystem.removeTree(entry)
                            throw error
                        }
                    }
                    made.append(entry)
                }
            }
        } catch {
            for entry in made { try? FileSystem.removeTree(entry) }
            throw error
        }
    }

    /// A single path component: non-empty, no `/`, not `.` or `..`.
    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.contains("/") && !name.utf8.contains(0)
    }
}

extension PatientSplit {
    /// The split as JSON: `{"seed": "777", "n_valid": 30, "train": [...], "valid": [...]}` (the seed as a
    /// string, so that 64-bit seeds survive any JSON reader).
    public var json: JSONValue {
        ["seed": .string(String(seed)), "n_valid": .number(Double(valid.count)),
         "train": .array(train.map { .string($0) }), "valid": .array(valid.map { .string($0) })]
    }

    /// Writes `json` to `path` (atomically).
    public func writeRecord(to path: String) throws(UnetsegError) {
        try FileSystem.writeTextAtomically(json.serialized(pretty: true) + "\n", to: path)
    }

    /// Where `applyAndRecord` writes the record: `split.json` in `trainDir`'s parent folder.
    public static func recordPath(trainDir: String) -> String {
        FileSystem.joined(FileSystem.parentDirectory(trainDir), "split.json")
    }

    /// `apply`, then `writeRecord` to `recordPath(trainDir:)`, which is returned. An existing record is
    /// refused (before anything is made) unless `overwrite`, which also lets `apply` empty the folders.
    @discardableResult
    public func applyAndRecord(root: String, trainDir: String, validDir: String, overwrite: Bool) throws(UnetsegError) -> String {
        let record = PatientSplit.recordPath(trainDir: trainDir)
        if FileSystem.exists(record) && !overwrite {
            throw .io("split record \(record) exists (an earlier split?); remove it, choose another folder or pass overwrite")
        }
        try apply(root: root, trainDir: trainDir, validDir: validDir, overwrite: overwrite)
        try writeRecord(to: record)
        return record
    }
}
