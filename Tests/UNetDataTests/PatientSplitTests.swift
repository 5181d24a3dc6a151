import Testing
import UNetData
import _TestSupport
import UNetTensor
import _UNetSupport

/// Choosing validation patients and laying the split out as folders of links.
@Suite struct PatientSplitTests {
    let patients = (1...20).map { "TCGA_P\($0)" }

    @Test func deterministicDisjointAndComplete() throws {
        let split = try PatientSplit.make(patients: patients, nValid: 6, seed: 777)
        #expect(split.valid.count == 6 && split.train.count == 14 && split.seed == 777)
        #expect(Set(split.valid).isDisjoint(with: split.train))
        #expect(Set(split.valid + split.train) == Set(patients))
        #expect(split.valid == split.valid.sorted() && split.train == split.train.sorted())
        // The input order does not matter; the seed does.
        #expect(try PatientSplit.make(patients: patients.reversed(), nValid: 6, seed: 777) == split)
        #expect(try PatientSplit.make(patients: patients, nValid: 6, seed: 778).valid != split.valid)
        // Every patient can be chosen: over many seeds each one lands in validation at least once.
        var chosen: Set<String> = []
        for seed in 0..<60 { chosen.formUnion(try PatientSplit.make(patients: patients, nValid: 6, seed: UInt64(seed)).valid) }
        #expect(chosen == Set(patients))
    }

    @Test func countsAtTheEdges() throws {
        #expect(try PatientSplit.make(patients: patients, nValid: 0, seed: 1).valid.isEmpty)
        #expect(try PatientSplit.make(patients: patients, nValid: 20, seed: 1).train.isEmpty)
        #expect(throws: UnetsegError.self) { try PatientSplit.make(patients: patients, nValid: 21, seed: 1) }
        #expect(throws: UnetsegError.self) { try PatientSplit.make(patients: patients, nValid: -1, seed: 1) }
        #expect(throws: UnetsegError.self) { try PatientSplit.make(patients: ["a", "a"], nValid: 1, seed: 1) }
        #expect(throws: UnetsegError.self) { try PatientSplit.make(patients: ["a/b"], nValid: 1, seed: 1) }
        #expect(throws: UnetsegError.self) { try PatientSplit.make(patients: [".."], nValid: 0, seed: 1) }
    }

    /// A dataset folder with `count` patients of two slices each, plus non-patient files.
    func makeDataset(count: Int) throws -> (base: String, root: String, names: [String]) {
        let base = try FileSystem.makeTemporaryDirectory(prefix: "unetseg-split-")
        let root = FileSystem.joined(base, "kaggle_3m")
        let names = (1...count).map { "TCGA_CS_\(4940 + $0)_19960909" }
        for name in names {
            let folder = FileSystem.joined(root, name)
            try FileSystem.makeDirectories(folder)
            for n in 1...2 {
                try FileSystem.writeTextAtomically("image \(name) \(n)", to: FileSystem.joined(folder, "\(name)_\(n).tif"))
                try FileSystem.writeTextAtomically("mask \(name) \(n)", to: FileSystem.joined(folder, "\(name)_\(n)_mask.tif"))
            }
        }
        try FileSystem.writeTextAtomically("csv", to: FileSystem.joined(root, "data.csv"))
        try FileSystem.makeDirectories(FileSystem.joined(root, ".hidden"))
        return (base, root, names)
    }

    @Test func applyLinksWithoutTouchingTheSource() throws {
        let (base, root, names) = try makeDataset(count: 5)
        defer { try? FileSystem.removeTree(base) }
        #expect(try PatientSplit.patients(in: root) == names)
        let before = try FileTreeDigest.of(root)
        let split = try PatientSplit.make(patients: names, nValid: 2, seed: 777)
        let train = FileSystem.joined(base, "out/train"), valid = FileSystem.joined(base, "out/valid")
        try split.apply(root: root, trainDir: train, validDir: valid)
        #expect(try FileSystem.listDirectory(train) == split.train)
        #expect(try FileSystem.listDirectory(valid) == split.valid)
        for name in split.valid {
            #expect(FileSystem.isSymbolicLink(FileSystem.joined(valid, name)))
            let slice = FileSystem.joined(valid, "\(name)/\(name)_2_mask.tif")
            #expect(try FileSystem.readText(slice) == "mask \(name) 2")
        }
        #expect(try FileSystem.walk(train).count == 4 * split.train.count)
        #expect(try FileTreeDigest.of(root) == before)
        // A second run into the now non-empty folders is refused, and changes nothing.
        #expect(throws: UnetsegError.self) { try split.apply(root: root, trainDir: train, validDir: valid) }
        #expect(try FileTreeDigest.of(root) == before)
        // Removing the split removes links only.
        try FileSystem.removeTree(FileSystem.joined(base, "out"))
        #expect(try FileTreeDigest.of(root) == before)
    }

    @Test func applyRefusesBadDestinations() throws {
        let (base, root, names) = try makeDataset(count: 3)
        defer { try? FileSystem.removeTree(base) }
        let split = try PatientSplit.make(patients: names, nValid: 1, seed: 1)
        let train = FileSystem.joined(base, "train"), valid = FileSystem.joined(base, "valid")
        #expect(throws: UnetsegError.self) { try split.apply(root: root, trainDir: train, validDir: train) }
        #expect(throws: UnetsegError.self) {
            try split.apply(root: root, trainDir: FileSystem.joined(root, "train"), validDir: valid)
        }
        #expect(throws: UnetsegError.self) { try split.apply(root: root, trainDir: train, validDir: FileSystem.joined(train, "v")) }
        #expect(throws: UnetsegError.self) { try split.apply(root: FileSystem.joined(base, "none"), trainDir: train, validDir: valid) }
        let ghost = PatientSplit(train: names + ["TCGA_GHOST"], valid: [], seed: 0)
        #expect(throws: UnetsegError.self) { try ghost.apply(root: root, trainDir: train, validDir: valid) }
        #expect(!FileSystem.exists(train) && !FileSystem.exists(valid))  // nothing made before the checks
        // An empty existing folder is accepted.
        try FileSystem.makeDirectories(train)
        try split.apply(root: root, trainDir: train, validDir: valid)
        #expect(try FileSystem.listDirectory(train).count == 2)
    }

    @Test func anEarlierSplitIsReplacedOnlyWithOverwrite() throws {
        let (base, root, names) = try makeDataset(count: 4)
        defer { try? FileSystem.removeTree(base) }
        let train = FileSystem.joined(base, "out/train"), valid = FileSystem.joined(base, "out/valid")
        let record = try PatientSplit.make(patients: names, nValid: 1, seed: 1)
            .applyAndRecord(root: root, trainDir: train, validDir: valid, overwrite: false)
        #expect(record == FileSystem.joined(base, "out/split.json"))
        let sourceBefore = try FileTreeDigest.of(root), splitBefore = try FileTreeDigest.of(FileSystem.joined(base, "out"))
        let other = try PatientSplit.make(patients: names, nValid: 2, seed: 9)
        // The record alone (folders emptied by hand) is enough to refuse.
        try FileSystem.makeDirectories(FileSystem.joined(base, "lone"))
        try FileSystem.writeTextAtomically("{}", to: FileSystem.joined(base, "lone/split.json"))
        for (t, v) in [(train, valid), (FileSystem.joined(base, "lone/train"), FileSystem.joined(base, "lone/valid"))] {
            #expect(performing: { try other.applyAndRecord(root: root, trainDir: t, validDir: v, overwrite: false) },
                    throws: { error in
                        guard case .io(let message)? = error as? UnetsegError else { return false }
                        return message.contains("overwrite") && message.contains(FileSystem.parentDirectory(t))
                    })
        }
        #expect(try FileTreeDigest.of(FileSystem.joined(base, "out")) == splitBefore)
        #expect(!FileSystem.exists(FileSystem.joined(base, "lone/train")))
        try other.applyAndRecord(root: root, trainDir: train, validDir: valid, overwrite: true)
        #expect(try FileSystem.listDirectory(valid) == other.valid && FileSystem.listDirectory(train) == other.train)
        #expect(try JSONValue.parse(FileSystem.readText(record))["n_valid"]?.intValue == 2)
        #expect(try FileTreeDigest.of(root) == sourceBefore)
    }
}
