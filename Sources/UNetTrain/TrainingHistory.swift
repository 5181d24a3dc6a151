import UNetTensor
import _UNetSupport

/// Mean binary cross-entropy, dice loss and total loss over a set of batches (the post's three numbers).
public struct LossSummary: Sendable, Equatable {
    /// Mean BCE.
    public var bce: Double
    /// Mean dice loss.
    public var dice: Double
    /// Mean total loss.
    public var loss: Double

    /// A summary of the given values.
    public init(bce: Double, dice: Double, loss: Double) {
        self.bce = bce
        self.dice = dice
        self.loss = loss
    }

    /// The means of per-batch values (zeros for no batches).
    public init(meanOf batches: [LossSummary]) {
        let n = Double(max(batches.count, 1))
        bce = batches.reduce(0) { $0 + $1.bce } / n
        dice = batches.reduce(0) { $0 + $1.dice } / n
        loss = batches.reduce(0) { $0 + $1.loss } / n
    }

    /// As a JSON array `[bce, dice, loss]`.
    var json: JSONValue { [.number(bce), .number(dice), .number(loss)] }

    /// From a JSON array `[bce, dice, loss]`.
    init?(json: JSONValue) {
        guard let a = json.arrayValue, a.count == 3, let b = a[0].doubleValue, let d = a[1].doubleValue,
              let l = a[2].doubleValue else { return nil }
        self.init(bce: b, dice: d, loss: l)
    }
}

/// What one epoch gave.
public struct EpochReport: Sendable, Equatable {
    /// 1-based epoch number.
    public var epoch: Int
    /// Means over the epoch's training batches.
    public var train: LossSummary
    /// Means over the validation batches (nil without a validation folder).
    public var valid: LossSummary?
    /// Learning rate after the epoch's last step.
    public var learningRate: Double
    /// Wall time of the epoch (training and validation).
    public var seconds: Double

    /// The post's two lines: `Epoch 1, training: loss:0.304232, bce: 0.148578, dice: 0.667423`, and the same
    /// for validation.
    public var postLines: [String] {
        var lines = [cFormat("Epoch %d, training: loss:%3f, bce: %3f, dice: %3f", epoch, train.loss, train.bce, train.dice)]
        if let valid {
            lines.append(cFormat("Epoch %d, validation: loss:%3f, bce: %3f, dice: %3f", epoch, valid.loss, valid.bce, valid.dice))
        }
        return lines
    }

    var json: JSONValue {
        ["epoch": .number(Double(epoch)), "train": train.json, "valid": valid?.json ?? .null,
         "lr": .number(learningRate), "seconds": .number(seconds)]
    }

    init(epoch: Int, train: LossSummary, valid: LossSummary?, learningRate: Double, seconds: Double) {
        self.epoch = epoch
        self.train = train
        self.valid = valid
        self.learningRate = learningRate
        self.seconds = seconds
    }

    init?(json: JSONValue) {
        guard let e = json["epoch"]?.intValue, let t = json["train"].flatMap(LossSummary.init(json:)),
              let lr = json["lr"]?.doubleValue, let s = json["seconds"]?.doubleValue else { return nil }
        self.init(epoch: e, train: t, valid: json["valid"].flatMap(LossSummary.init(json:)), learningRate: lr, seconds: s)
    }
}

/// The per-epoch log of a run, written as `log.csv` and `log.json` in the run folder.
public enum TrainingLog {
    /// The CSV text: a header and one row per epoch.
    public static func csv(_ history: [EpochReport]) -> String {
        var text = "epoch,train_loss,train_bce,train_dice,valid_loss,valid_bce,valid_dice,lr,seconds\n"
        for r in history {
            let valid = r.valid.map { cFormat("%.6f,%.6f,%.6f", $0.loss, $0.bce, $0.dice) } ?? ",,"
            text += cFormat("%d,%.6f,%.6f,%.6f,", r.epoch, r.train.loss, r.train.bce, r.train.dice)
                + valid + cFormat(",%.8g,%.3f\n", r.learningRate, r.seconds)
        }
        return text
    }

    /// The JSON text: an array of epoch objects.
    public static func json(_ history: [EpochReport]) -> String {
        JSONValue.array(history.map(\.json)).serialized(pretty: true) + "\n"
    }

    /// Reads the epochs back from `json(_:)`'s text.
    public static func parse(_ text: String, source: String) throws(UnetsegError) -> [EpochReport] {
        let json: JSONValue
        do { json = try JSONValue.parse(text) } catch { throw .format("\(source): history is not valid JSON: \(error.message)") }
        guard let items = json.arrayValue else { throw .format("\(source): not a JSON array") }
        var reports: [EpochReport] = []
        for item in items {
            guard let r = EpochReport(json: item) else { throw .format("\(source): malformed epoch entry") }
            reports.append(r)
        }
        return reports
    }
}
