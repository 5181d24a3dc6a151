import CUNetSegTypes
import UNetNN
import UNetTensor
import UNetTrain
import _UNetSupport

// R (.C): SGD, the one-cycle schedule and the post's losses.

// MARK: - SGD

/// R (.C): SGD (torch's rules) over the *count parameter tensors whose handles are at parameters (R's
/// model$parameters), with settings = (lr, momentum, dampening, weight_decay) and *nesterov. It keeps the
/// tensors alive. New handle in *out_optimizer.
@c public func unetseg_r_sgd_create(_ parameters: UnsafePointer<Int32>?, _ count: UnsafePointer<Int32>?,
                                    _ settings: UnsafePointer<Double>?, _ nesterov: UnsafePointer<Int32>?,
                                    _ out_optimizer: UnsafeMutablePointer<Int32>?, _ message: RString?,
                                    _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let n = try rInt(count, "count")
        try checkArgument(n >= 1, "the optimiser needs at least one parameter tensor, got \(n)")
        let handles = try nonNull(parameters, "parameters")
        var tensors: [Tensor] = []
        for i in 0..<n { tensors.append(try rTensor(handles + i, "parameters[\(i + 1)]")) }
        let s = try nonNull(settings, "settings")
        try rReturn(SGDHandle(try SGD(tensors, learningRate: Float(s[0]), momentum: Float(s[1]), dampening: Float(s[2]),
                                      weightDecay: Float(s[3]), nesterov: try rBool(nesterov, "nesterov"))),
                    to: out_optimizer, "out_optimizer")
    }
}

/// R (.C): frees optimiser handle *optimizer (0 and dead handles are ignored).
@c public func unetseg_r_sgd_free(_ optimizer: UnsafePointer<Int32>?, _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in rRelease(optimizer, SGDHandle.self, function: #function) }
}

/// R (.C): drops the gradients of the optimiser's parameters (optimizer$zero_grad()).
@c public func unetseg_r_sgd_zero_grad(_ optimizer: UnsafePointer<Int32>?, _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in try rObject(optimizer, SGDHandle.self, "optimizer").optimizer.zeroGrad() }
}

/// R (.C): updates every parameter that has a gradient (optimizer$step()).
@c public func unetseg_r_sgd_step(_ optimizer: UnsafePointer<Int32>?, _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in try rObject(optimizer, SGDHandle.self, "optimizer").optimizer.step() }
}

/// R (.C): writes the optimiser's current learning rate and momentum into out_values (2 doubles).
@c public func unetseg_r_sgd_get(_ optimizer: UnsafePointer<Int32>?, _ out_values: UnsafeMutablePointer<Double>?,
                                 _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let sgd = try rObject(optimizer, SGDHandle.self, "optimizer").optimizer
        let out = try nonNull(out_values, "out_values")
        (out[0], out[1]) = (doubleForR(sgd.learningRate), doubleForR(sgd.momentum))
    }
}

// MARK: - One-cycle schedule

/// R (.C): a one-cycle schedule over *optimizer with settings = (max_lr, pct_start, div_factor,
/// final_div_factor, base_momentum, max_momentum), steps = (epochs, steps_per_epoch) and
/// *cycle_momentum, as unetseg_one_cycle_create (it sets the optimiser's rate for step 0). New handle in
/// *out_scheduler.
@c public func unetseg_r_one_cycle_create(_ optimizer: UnsafePointer<Int32>?, _ settings: UnsafePointer<Double>?,
                                          _ steps: UnsafePointer<Int32>?, _ cycle_momentum: UnsafePointer<Int32>?,
                                          _ out_scheduler: UnsafeMutablePointer<Int32>?, _ message: RString?,
                                          _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let sgd = try rObject(optimizer, SGDHandle.self, "optimizer").optimizer
        let s = try nonNull(settings, "settings"), n = try nonNull(steps, "steps")
        let params = unetseg_one_cycle_params(max_lr: s[0], epochs: n[0], steps_per_epoch: n[1], pct_start: s[1],
                                              div_factor: s[2], final_div_factor: s[3], base_momentum: s[4],
                                              max_momentum: s[5], cycle_momentum: try rBool(cycle_momentum, "cycle_momentum"))
        try rReturn(try params.makeSchedule(for: sgd), to: out_scheduler, "out_scheduler", sharingLockWith: optimizer)
    }
}

/// R (.C): frees schedule handle *scheduler (0 and dead handles are ignored).
@c public func unetseg_r_one_cycle_free(_ scheduler: UnsafePointer<Int32>?, _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in rRelease(scheduler, OneCycleHandle.self, function: #function) }
}

/// R (.C): advances the schedule one step (scheduler$step()); stepping past the last step is an error, as
/// in torch.
@c public func unetseg_r_one_cycle_step(_ scheduler: UnsafePointer<Int32>?, _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in try rObject(scheduler, OneCycleHandle.self, "scheduler").scheduler.step() }
}

/// R (.C): writes the schedule's (learning rate, momentum, steps taken, total steps) into out_values (4
/// doubles).
@c public func unetseg_r_one_cycle_get(_ scheduler: UnsafePointer<Int32>?, _ out_values: UnsafeMutablePointer<Double>?,
                                       _ message: RString?, _ status: UnsafeMutablePointer<Int32>?) {
    rCall(message, status) { () throws(UnetsegError) in
        let schedule = try rObject(scheduler, OneCycleHandle.self, "scheduler").scheduler
        let out = try nonNull(out_values, "out_values")
        (out[0], out[1], out[2], out[3]) = (schedule.learningRate, schedule.momentum, Double(schedule.stepCount),
                                            Double(schedule.totalSteps))
    }
}

// MARK: - Losses

/// R (.C): mean binary cross-entropy of *prediction (probabilities) against *target, as torch's
/// nnf_binary_cross_entropy (logs clamped at -100); differentiable. New handle in *out_tensor.
@c public func unetseg_r_loss_bce(_ prediction: UnsafePointer<Int32>?, _ target: UnsafePointer<Int32>?,
                                  _ out_tensor: UnsafeMutablePointer<Int32>?, _ message: RString?,
                                  _ status: UnsafeMutablePointer<Int32>?) {
    rTensorResult(out_tensor, message, status) { () throws(UnetsegError) in
        try rTensor(prediction, "prediction").binaryCrossEntropy(try rTensor(target, "target"))
    }
}

/// R (.C): the post's dice loss 1 - (2 sum(p t) + 1) / (sum(p) + sum(t) + 1) over the whole batch;
/// differentiable. New handle in *out_tensor.
@c public func unetseg_r_loss_dice(_ prediction: UnsafePointer<Int32>?, _ target: UnsafePointer<Int32>?,
                                   _ out_tensor: UnsafeMutablePointer<Int32>?, _ message: RString?,
                                   _ status: UnsafeMutablePointer<Int32>?) {
    rTensorResult(out_tensor, message, status) { () throws(UnetsegError) in
        try diceLoss(try rTensor(prediction, "prediction"), try rTensor(target, "target"))
    }
}
