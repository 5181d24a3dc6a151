import CUNetSegTypes
import UNetTensor
import UNetTrain
import _UNetSupport

// Optimisation: SGD over a model's parameters, and the one-cycle schedule that drives its rate and momentum.

// MARK: - SGD

/// The post's optimiser settings: lr 0.1, momentum 0.9, dampening 0, weight_decay 0, nesterov false.
@c public func unetseg_sgd_default_params() -> unetseg_sgd_params {
    unetseg_sgd_params(lr: 0.1, momentum: 0.9, dampening: 0, weight_decay: 0, nesterov: false)
}

/// Makes an SGD optimiser (torch's rules) over all of model's parameters. It keeps them alive: the model
/// handle may be freed first.
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_optimizer (free it with unetseg_sgd_free), or
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle or a field out of range.
@c public func unetseg_sgd_create(_ model: UnsafeMutablePointer<unetseg_model>?, _ params: UnsafePointer<unetseg_sgd_params>?,
                                  _ out_optimizer: UnsafeMutablePointer<UnsafeMutablePointer<unetseg_sgd>?>?) -> Int32 {
    returningHandle(out_optimizer, "out_optimizer", sharingLockWith: UnsafeRawPointer(model), function: #function) { () throws(UnetsegError) in
        let handle = try Handles.model(model)
        let p = try nonNull(params, "params").pointee
        return SGDHandle(try SGD(handle.parameters.map(\.tensor), learningRate: p.lr, momentum: p.momentum,
                                 dampening: p.dampening, weightDecay: p.weight_decay, nesterov: p.nesterov))
    }
}

/// Makes an SGD optimiser (torch's rules) over count tensors (an array of handles, each requiring grad and
/// given once): the parameters of a model defined by the caller (torch's optim_sgd(module$parameters)). It
/// keeps the tensors alive: their handles may be freed first. A one-cycle schedule drives it as any SGD.
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_optimizer (free it with unetseg_sgd_free), or
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle (the message names its index), a count below
/// 1, a tensor that does not require grad or is given twice, or a field of params out of range. Calls on
/// the optimiser are not serialised with calls on the tensors' own handles: do not use those from another
/// thread during a step.
@c public func unetseg_sgd_create_for_tensors(_ tensors: UnsafePointer<UnsafePointer<unetseg_tensor>?>?, _ count: Int32,
                                              _ params: UnsafePointer<unetseg_sgd_params>?,
                                              _ out_optimizer: UnsafeMutablePointer<UnsafeMutablePointer<unetseg_sgd>?>?) -> Int32 {
    returningHandle(out_optimizer, "out_optimizer", function: #function) { () throws(UnetsegError) in
        let parameters = try tensorArray(tensors, count)
        for (i, t) in parameters.enumerated() {
            try checkArgument(t.requiresGrad, "tensors[\(i)] does not require grad: SGD optimises parameters")
            try checkArgument(!parameters[..<i].contains { $0 === t }, "tensors[\(i)] is given twice")
        }
        let p = try nonNull(params, "params").pointee
        return SGDHandle(try SGD(parameters, learningRate: p.lr, momentum: p.momentum,
                                 dampening: p.dampening, weightDecay: p.weight_decay, nesterov: p.nesterov))
    }
}

/// Drops the gradients of the optimiser's parameters (optimizer$zero_grad()).
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a dead handle.
@c public func unetseg_sgd_zero_grad(_ optimizer: UnsafeMutablePointer<unetseg_sgd>?) -> Int32 {
    withStatus { () throws(UnetsegError) in try Handles.sgd(optimizer).zeroGrad() }
}

/// Updates every parameter that has a gradient (optimizer$step()).
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a dead handle.
@c public func unetseg_sgd_step(_ optimizer: UnsafeMutablePointer<unetseg_sgd>?) -> Int32 {
    withStatus { () throws(UnetsegError) in try Handles.sgd(optimizer).step() }
}

/// Frees an optimiser handle. NULL is accepted and ignored; a handle that is not live is ignored with a
/// warning. A schedule driving it stays valid.
@c public func unetseg_sgd_free(_ optimizer: UnsafeMutablePointer<unetseg_sgd>?) {
    Handles.release(UnsafeRawPointer(optimizer), SGDHandle.self, #function)
}

// MARK: - One-cycle schedule

extension unetseg_one_cycle_params {
    /// A one-cycle schedule over `sgd` with these parameters (validated), which sets its rate for step 0:
    /// the work of unetseg_one_cycle_create.
    func makeSchedule(for sgd: SGD) throws(UnetsegError) -> OneCycleHandle {
        try checkArgument(base_momentum.isFinite && max_momentum.isFinite && base_momentum >= 0 && max_momentum >= 0,
                    "momenta must be finite and >= 0, got \(base_momentum) and \(max_momentum)")
        return OneCycleHandle(try OneCycleLR(
            optimizer: sgd, maxLR: max_lr, epochs: Int(epochs), stepsPerEpoch: Int(steps_per_epoch),
            pctStart: pct_start, divFactor: div_factor, finalDivFactor: final_div_factor,
            baseMomentum: base_momentum, maxMomentum: max_momentum, cycleMomentum: cycle_momentum))
    }
}

/// The post's schedule: max_lr 0.1, epochs 20, steps_per_epoch 0 (set it: the number of batches per
/// epoch), pct_start 0.3, div_factor 25, final_div_factor 1e4, momentum 0.85 to 0.95, cycle_momentum true.
@c public func unetseg_one_cycle_default_params() -> unetseg_one_cycle_params {
    unetseg_one_cycle_params(max_lr: 0.1, epochs: 20, steps_per_epoch: 0, pct_start: 0.3, div_factor: 25,
                             final_div_factor: 1e4, base_momentum: 0.85, max_momentum: 0.95, cycle_momentum: true)
}

/// Makes a one-cycle schedule over epochs * steps_per_epoch steps and sets optimizer's learning rate (and
/// momentum) to their values at step 0. Call unetseg_one_cycle_step after every batch. It keeps the
/// optimiser alive: the optimiser handle may be freed first.
///
/// Returns UNETSEG_STATUS_OK and a new handle in *out_scheduler (free it with unetseg_one_cycle_free), or
/// UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle or a field out of range (steps_per_epoch 0).
@c public func unetseg_one_cycle_create(_ optimizer: UnsafeMutablePointer<unetseg_sgd>?,
                                        _ params: UnsafePointer<unetseg_one_cycle_params>?,
                                        _ out_scheduler: UnsafeMutablePointer<UnsafeMutablePointer<unetseg_one_cycle>?>?) -> Int32 {
    returningHandle(out_scheduler, "out_scheduler", sharingLockWith: UnsafeRawPointer(optimizer), function: #function) { () throws(UnetsegError) in
        let sgd = try Handles.sgd(optimizer)
        return try nonNull(params, "params").pointee.makeSchedule(for: sgd)
    }
}

/// Advances the schedule one step and sets the optimiser's learning rate (and momentum).
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL, a dead handle or a step past
/// the last one (epochs * steps_per_epoch), as torch.
@c public func unetseg_one_cycle_step(_ scheduler: UnsafeMutablePointer<unetseg_one_cycle>?) -> Int32 {
    withStatus { () throws(UnetsegError) in try Handles.oneCycle(scheduler).step() }
}

/// Writes the learning rate at the current step into *out_lr.
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a dead handle.
@c public func unetseg_one_cycle_get_lr(_ scheduler: UnsafePointer<unetseg_one_cycle>?, _ out_lr: UnsafeMutablePointer<Double>?) -> Int32 {
    withStatus { () throws(UnetsegError) in
        let schedule = try Handles.oneCycle(scheduler)
        try nonNull(out_lr, "out_lr").pointee = schedule.learningRate
    }
}

/// Writes the momentum at the current step into *out_momentum.
///
/// Returns UNETSEG_STATUS_OK, or UNETSEG_STATUS_INVALID_ARGUMENT for a NULL or a dead handle.
@c public func unetseg_one_cycle_get_momentum(_ scheduler: UnsafePointer<unetseg_one_cycle>?,
                                              _ out_momentum: UnsafeMutablePointer<Double>?) -> Int32 {
    withStatus { () throws(UnetsegError) in
        let schedule = try Handles.oneCycle(scheduler)
        try nonNull(out_momentum, "out_momentum").pointee = schedule.momentum
    }
}

/// Frees a schedule handle. NULL is accepted and ignored; a handle that is not live is ignored with a
/// warning.
@c public func unetseg_one_cycle_free(_ scheduler: UnsafeMutablePointer<unetseg_one_cycle>?) {
    Handles.release(UnsafeRawPointer(scheduler), OneCycleHandle.self, #function)
}
