import UNetTensor
import _UNetSupport

/// What the synthetic LGG-like dataset holds: how many patients, how many axial slices each, the slice size,
/// the seed, and the share of slices that show a lesion. Values are checked when the options are made, so a
/// `SyntheticDatasetOptions` is always valid. Everything `SyntheticBrain` draws follows from these values alone:
/// the same options give the same dataset, sample for sample.
public struct SyntheticDatasetOptions: Sendable, Equatable {
    /// Allowed patient counts.
    public static let patientRange = 1...5000
    /// Allowed slices per patient (the real set has 20…88).
    public static let sliceRange = 8...88
    /// Allowed slice sizes in pixels (slices are square).
    public static let sizeRange = 32...1024
    /// Allowed targets for the share of slices with lesion pixels.
    public static let lesionSliceFractionRange: ClosedRange<Double> = 0...0.7

    /// Number of patients (volumes); the real `kaggle_3m` set has 110.
    public let patients: Int
    /// Fewest axial slices in a volume.
    public let minSlices: Int
    /// Most axial slices in a volume.
    public let maxSlices: Int
    /// Width and height of every slice in pixels.
    public let size: Int
    /// Seed of all random choices.
    public let seed: UInt64
    /// Target share of slices, over the dataset, whose mask has lesion pixels (the real set: about 0.35).
    public let lesionSliceFraction: Double
    /// How the patients are drawn (see `SyntheticStyle`); `simple` unless asked.
    public let style: SyntheticStyle

    /// Options with the given values; throws `invalidArgument` naming the first value out of range.
    public init(patients: Int = 110, minSlices: Int = 20, maxSlices: Int = 40, size: Int = 256, seed: UInt64 = 1,
                lesionSliceFraction: Double = 0.38, style: SyntheticStyle = .simple) throws(UnetsegError) {
        let p = Self.patientRange, s = Self.sliceRange, z = Self.sizeRange, f = Self.lesionSliceFractionRange
        try checkArgument(p.contains(patients), "patients must be in \(p.lowerBound)…\(p.upperBound), got \(patients)")
        try checkArgument(s.contains(minSlices), "minSlices must be in \(s.lowerBound)…\(s.upperBound), got \(minSlices)")
        try checkArgument(s.contains(maxSlices), "maxSlices must be in \(s.lowerBound)…\(s.upperBound), got \(maxSlices)")
        try checkArgument(minSlices <= maxSlices, "minSlices (\(minSlices)) must not exceed maxSlices (\(maxSlices))")
        try checkArgument(z.contains(size), "size must be in \(z.lowerBound)…\(z.upperBound) pixels, got \(size)")
        try checkArgument(lesionSliceFraction.isFinite && f.contains(lesionSliceFraction),
                    "lesionSliceFraction must be in \(f.lowerBound)…\(f.upperBound), got \(lesionSliceFraction)")
        self.patients = patients
        self.minSlices = minSlices
        self.maxSlices = maxSlices
        self.size = size
        self.seed = seed
        self.lesionSliceFraction = lesionSliceFraction
        self.style = style
    }

    // MARK: - Patients

    /// The id of patient `index` (0-based), `TCGA_XX_NNNN_YYYYMMDD` like the real set: XX an institution
    /// code of the real set (CS, DU, EZ, FG, HT), NNNN a number unique within the dataset, and a scan date in
    /// 1992…2008. Throws when `index` is not in `0..<patients`.
    public func patientID(_ index: Int) throws(UnetsegError) -> String {
        try checkPatient(index)
        return uncheckedPatientID(index)
    }

    /// The number of axial slices of patient `index`, in `minSlices…maxSlices`. Throws when `index` is not in
    /// `0..<patients`.
    public func sliceCount(patient index: Int) throws(UnetsegError) -> Int {
        try checkPatient(index)
        return uncheckedSliceCount(index)
    }

    /// Every patient of the dataset in order: id, slice count and file names.
    public func patientList() -> [SyntheticPatient] {
        (0..<patients).map {
            SyntheticPatient(index: $0, id: uncheckedPatientID($0), sliceCount: uncheckedSliceCount($0))
        }
    }

    /// Throws unless `index` names a patient of this dataset.
    func checkPatient(_ index: Int) throws(UnetsegError) {
        try checkArgument((0..<patients).contains(index), "patient index \(index) is not in 0..<\(patients)")
    }

    // MARK: - Random streams

    /// The independent random streams of the dataset, one family per purpose.
    enum Stream: UInt64 {
        case identity = 1, sliceCount, anatomy, sliceNoise
    }

    /// The random stream for `purpose` and the given keys (patient, slice, …).
    func generator(_ purpose: Stream, _ keys: Int...) -> RandomGenerator {
        var g = RandomGenerator(seed: seed).derived(purpose.rawValue)
        for k in keys { g = g.derived(UInt64(truncatingIfNeeded: k)) }
        return g
    }

    /// The slice count of a valid patient index.
    func uncheckedSliceCount(_ index: Int) -> Int {
        var g = generator(.sliceCount, index)
        return minSlices + g.integer(below: maxSlices - minSlices + 1)
    }

    /// The id of a valid patient index (see `patientID(_:)`).
    func uncheckedPatientID(_ index: Int) -> String {
        var g = generator(.identity, index)
        let institutions = ["CS", "DU", "EZ", "FG", "HT"]
        let institution = institutions[g.integer(below: institutions.count)]
        let year = 1992 + g.integer(below: 17), month = 1 + g.integer(below: 12)
        let day = 1 + g.integer(below: Self.daysIn(month: month, year: year))
        let number = 1000 + uniqueNumber(index)
        return "TCGA_\(institution)_\(number)_\(year)\(Self.twoDigits(month))\(Self.twoDigits(day))"
    }

    /// A seed-keyed permutation of `0..<9000` applied to `index`, so ids never repeat: a four-round Feistel
    /// network on 14 bits, applied again while the value is ≥ 9000 (cycle walking keeps it a permutation).
    func uniqueNumber(_ index: Int) -> Int {
        let domain: UInt64 = 9000
        var keyStream = RandomGenerator(seed: seed).derived(Stream.identity.rawValue, UInt64.max)
        let key = keyStream.next()
        var value = UInt64(index) % domain
        repeat {
            var left = value >> 7, right = value & 0x7F
            for round in UInt64(0)..<4 {
                let f = RandomGenerator.mix64(key ^ (round << 8) ^ right) & 0x7F
                (left, right) = (right, left ^ f)
            }
            value = left << 7 | right
        } while value >= domain
        return Int(value)
    }

    /// Days in `month` (1…12) of `year`, Gregorian.
    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// `n` (0…99) with a leading zero.
    static func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}
