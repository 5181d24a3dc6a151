import CUNetSegTypes
import UNetData
import UNetNN
import UNetTensor
import UNetTrain

// R (.C): the post's whole run in one call (the CLI's trainer), evaluation, prediction, the patient split
// and the synthetic data set.

/// The values of one epoch that unetseg_r_fit writes per row: epoch, the training loss, bce and dice, the
/// validation loss, bce and dice (NaN without validation), the learning rate and the seconds taken.
let rHistoryColumns = 9

/// The evaluation result behind an R handle.
final class REvaluationHandle: HandleTarget, @unchecked Sendable {
    typealias CType = RHandleTag
    static var cTypeName: String { "evaluation" }
    /// The scores.
    let result: EvaluationResult
    init(_ result: EvaluationResult) { self.result = result }
}

/// R (.C): trains as the CLI's `unetseg train` (the same Trainer): folders = (train_dir, valid_dir or "",
/// out_dir); integers = (epochs, batch_size, depth, n_filters, augment, random_sampling, threads (0: keep),
/// loader_workers, resume); doubles = (lr, momentum, dropout, dice_weight, scale, angle, flip, seed). Writes
/// one row of 9 values per epoch (see rHistoryColumns) into out_history, which holds integers[0] rows, the
/// number of epochs run into *out_epochs and a new handle to the trained model into *out_model. The post's
/// epoch lines also go to the log callback.
@c public func unetseg_r_fit(_ folders: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ integers: UnsafePointer<Int32>?,
                             _ doubles: UnsafePointer<Double>?, _ out_history: UnsafeMutablePointer<Double>?,
                             _ out_epochs: UnsafeMutablePointer<Int32>?, _ out_model: UnsafeMutablePointer<Int32>?,
                             _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let paths = try required(folders, "folders"), i = try required(integers, "integers"), d = try required(doubles, "doubles")
        let history = try required(out_history, "out_history")
        var options = TrainingOptions(trainDir: try rPath(paths, "train_dir"), validDir: try rOptionalPath(paths + 1, "valid_dir") ?? "",
                                      outDir: try rPath(paths + 2, "out_dir"))
        options.epochs = Int(i[0])
        options.batchSize = Int(i[1])
        options.model = UNetConfig(depth: Int(i[2]), nFilters: Int(i[3]), dropout: Float(d[2]))
        options.augmentation = i[4] != 0 ? AugmentationParameters(scale: Float(d[4]), angle: Float(d[5]), flip: Float(d[6])) : nil
        options.randomSampling = i[5] != 0
        options.threads = i[6] == 0 ? nil : Int(i[6])
        options.loaderWorkers = Int(i[7])
        options.resume = i[8] != 0
        options.learningRate = d[0]
        options.momentum = Float(d[1])
        options.diceWeight = Float(d[3])
        options.seed = try rSeed(d + 7)
        let trainer = try Trainer(options: options)
        let reports = try trainer.run(onEpoch: { report in
            for line in report.postLines { Log.emit(UNETSEG_LOG_INFO, line) }
            return true
        })
        for (row, r) in reports.prefix(options.epochs).enumerated() {
            let values = [Double(r.epoch), r.train.loss, r.train.bce, r.train.dice, r.valid?.loss ?? .nan,
                          r.valid?.bce ?? .nan, r.valid?.dice ?? .nan, r.learningRate, r.seconds]
            for (column, value) in values.enumerated() { history[row * rHistoryColumns + column] = value }
        }
        try required(out_epochs, "out_epochs").pointee = Int32(clamping: min(reports.count, options.epochs))
        try rReturn(ModelHandle(trainer.model, seed: -1), to: out_model, "out_model")
    }
}

/// R (.C): evaluates *model on the slices under *data_dir in batches of *batch_size (the CLI's `unetseg
/// evaluate`): writes (mean volume Dice, median volume Dice, mean slice Dice, bce, dice loss, slices) into
/// out_metrics and a new handle to the per-patient result into *out_evaluation. Predicted masks go to
/// *predictions_dir and metrics.json and the pictures to *output_dir when they are not "". The model's mode
/// is restored afterwards.
@c public func unetseg_r_evaluate(_ model: UnsafePointer<Int32>?, _ data_dir: RString?, _ batch_size: UnsafePointer<Int32>?,
                                  _ predictions_dir: RString?, _ output_dir: RString?,
                                  _ out_metrics: UnsafeMutablePointer<Double>?, _ out_evaluation: UnsafeMutablePointer<Int32>?,
                                  _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let network = try rModel(model).model
        let dataset = try BrainSegDataset(root: try rPath(data_dir, "data_dir"))
        let predictions = try rOptionalPath(predictions_dir, "predictions_dir"), output = try rOptionalPath(output_dir, "output_dir")
        let metrics = try required(out_metrics, "out_metrics")
        let wasTraining = network.isTraining
        defer { if wasTraining { network.train() } }
        let result = try Evaluator.evaluate(network, on: dataset, batchSize: try rInt(batch_size, "batch_size"),
                                            predictionsDir: predictions)
        if let output {
            try Evaluator.writeMetrics(result, to: output)
            try Pictures.writeEvaluationFigures(network, dataset, modelPath: "", to: output)
        }
        let values = [result.meanVolumeDice, result.medianVolumeDice, result.meanSliceDice, result.bce, result.diceLoss,
                      Double(result.sliceCount)]
        for (k, v) in values.enumerated() { metrics[k] = v }
        try rReturn(REvaluationHandle(result), to: out_evaluation, "out_evaluation")
    }
}

/// R (.C): frees evaluation handle *evaluation (0 and dead handles are ignored).
@c public func unetseg_r_evaluation_free(_ evaluation: UnsafePointer<Int32>?, _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in rRelease(evaluation, REvaluationHandle.self, function: #function) }
}

/// R (.C): writes the number of patients of an evaluation into *out_count.
@c public func unetseg_r_evaluation_patient_count(_ evaluation: UnsafePointer<Int32>?, _ out_count: UnsafeMutablePointer<Int32>?,
                                                  _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let result = try rObject(evaluation, REvaluationHandle.self, "evaluation").result
        try required(out_count, "out_count").pointee = Int32(clamping: result.volumeDice.count)
    }
}

/// R (.C): patient *index (0-based) of an evaluation: its id into *out_patient (R passes 255 characters)
/// and the Dice of its volume into *out_dice.
@c public func unetseg_r_evaluation_patient(_ evaluation: UnsafePointer<Int32>?, _ index: UnsafePointer<Int32>?,
                                            _ out_patient: RString?, _ out_dice: UnsafeMutablePointer<Double>?,
                                            _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let result = try rObject(evaluation, REvaluationHandle.self, "evaluation").result
        let entry = result.volumeDice[try indexArgument(try required(index, "index").pointee, count: result.volumeDice.count)]
        try rWrite(entry.patient, to: out_patient, "out_patient")
        try required(out_dice, "out_dice").pointee = entry.dice
    }
}

/// R (.C): segments *input (a slice TIFF or a folder of slices) with *model and writes the predicted masks
/// under *out_dir (the CLI's `unetseg predict`); writes their number into *out_written. The model's mode is
/// restored afterwards.
@c public func unetseg_r_predict(_ model: UnsafePointer<Int32>?, _ input: RString?, _ out_dir: RString?,
                                 _ out_written: UnsafeMutablePointer<Double>?, _ message: RString?,
                                 _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let network = try rModel(model).model
        let source = try rPath(input, "input"), destination = try rPath(out_dir, "out_dir")
        let written = try required(out_written, "out_written")
        let wasTraining = network.isTraining
        defer { if wasTraining { network.train() } }
        written.pointee = Double(try Predictor.predict(network, input: source, outDir: destination).count)
    }
}

/// R (.C): splits the patient folders of *root into *n_valid chosen with *seed for *valid_dir and the rest
/// for *train_dir (links to the source), with the record split.json beside train_dir; writes the two
/// counts into out_counts.
@c public func unetseg_r_split_patients(_ root: RString?, _ train_dir: RString?, _ valid_dir: RString?,
                                        _ n_valid: UnsafePointer<Int32>?, _ seed: UnsafePointer<Double>?,
                                        _ out_counts: UnsafeMutablePointer<Int32>?, _ message: RString?,
                                        _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let source = try rPath(root, "data_dir")
        let train = try rPath(train_dir, "train_dir"), valid = try rPath(valid_dir, "valid_dir")
        let counts = try required(out_counts, "out_counts")
        let split = try PatientSplit.make(patients: try PatientSplit.patients(in: source), nValid: try rInt(n_valid, "n_valid"),
                                          seed: try rSeed(seed))
        try split.apply(root: source, trainDir: train, validDir: valid)
        try split.writeRecord(to: FileSystem.joined(FileSystem.parentDirectory(train), "split.json"))
        (counts[0], counts[1]) = (Int32(clamping: split.train.count), Int32(clamping: split.valid.count))
    }
}

/// R (.C): writes a synthetic LGG-like dataset under *root in the kaggle_3m layout with counts =
/// (patients, min_slices, max_slices, size), *seed and *lesion_fraction; writes the number of slices into
/// *out_slices.
@c public func unetseg_r_synthetic_write(_ root: RString?, _ counts: UnsafePointer<Int32>?, _ seed: UnsafePointer<Double>?,
                                         _ lesion_fraction: UnsafePointer<Double>?, _ out_slices: UnsafeMutablePointer<Double>?,
                                         _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let folder = try rPath(root, "dir"), c = try required(counts, "counts")
        let options = try SyntheticDatasetOptions(patients: Int(c[0]), minSlices: Int(c[1]), maxSlices: Int(c[2]), size: Int(c[3]),
                                                  seed: try rSeed(seed), lesionSliceFraction: try rDouble(lesion_fraction, "lesion_fraction"))
        let slices = try required(out_slices, "out_slices")
        slices.pointee = Double(try SyntheticDataset.write(to: folder, options: options).reduce(0) { $0 + $1.sliceCount })
    }
}
