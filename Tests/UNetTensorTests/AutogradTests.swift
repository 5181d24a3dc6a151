import Testing
import UNetTensor
import _UNetSupport

/// The backward walk: accumulation, shared inputs, no-grad scopes and graph release.
@Suite struct AutogradTests {
    @Test func sharedInputAccumulates() throws {
        let x = try Tensor([3], shape: [1], requiresGrad: true)
        let y = try (x * x + x * 2).sum()   // y = x² + 2x, dy/dx = 2x + 2 = 8
        try y.backward()
        #expect(x.grad?.toArray() == [8])
        try (x * 3).sum().backward()        // accumulates: 8 + 3
        #expect(x.grad?.toArray() == [11])
        x.zeroGrad()
        #expect(x.grad == nil)
    }

    @Test func noGradRecordsNothing() throws {
        let x = try Tensor([1, 2], shape: [2], requiresGrad: true)
        let y = Autograd.withNoGrad { (x * 2).sum() }
        #expect(!y.requiresGrad && y.gradNode == nil)
        #expect(Autograd.isEnabled)
        #expect(throws: UnetsegError.self) { try y.backward() }
    }

    @Test func backwardNeedsAScalar() throws {
        let x = try Tensor([1, 2], shape: [2], requiresGrad: true)
        #expect(throws: UnetsegError.self) { try (x * 2).backward() }
    }

    @Test func graphIsFreedAfterBackward() throws {
        weak var intermediate: Tensor?
        let x = try Tensor([1, 2, 3], shape: [3], requiresGrad: true)
        var loss: Tensor? = try {
            let hidden = (x * 2).sigmoid()
            intermediate = hidden
            return try (hidden / hidden).sum()
        }()
        #expect(intermediate != nil)
        try loss?.backward()
        loss = nil
        #expect(intermediate == nil)
    }

    /// Dropping a 200,000-op graph that was never back-propagated releases it without overflowing the
    /// stack (each node used to release the next from inside its own release), and frees every tensor.
    @Test func longUnusedChainIsFreedIteratively() throws {
        weak var first: Tensor?
        let x = try Tensor([1], shape: [1], requiresGrad: true)
        do {
            var y = x + 1
            first = y
            for _ in 1..<200_000 { y = y + 1 }
            #expect(y.gradNode != nil)
            #expect(try y.item() == 200_001)
        }
        #expect(first == nil)
    }

    @Test func unusedGraphIsFreedWithoutBackward() throws {
        weak var intermediate: Tensor?
        let x = try Tensor([1, 2, 3], shape: [3], requiresGrad: true)
        do {
            let hidden = (x * 2).sigmoid()
            intermediate = hidden
            _ = try (hidden / (hidden + 1)).exp().sum()
        }
        #expect(intermediate == nil)
    }

    /// The graph keeps only what a backward reads: a ReLU reads its output, a dropout its mask, a
    /// concatenation nothing, so their inputs are freed during the forward pass, and the gradients stay right.
    @Test func inputsNoBackwardReadsAreFreedBeforeBackward() throws {
        weak var reluInput: Tensor?, dropoutInput: Tensor?, catInput: Tensor?
        let x = try Tensor([-1, 2, -3, 4], shape: [1, 1, 2, 2], requiresGrad: true)
        var generator = RandomGenerator(seed: 1)
        let loss: Tensor = try {
            let scaled = x * 2
            reluInput = scaled
            let activated = scaled.relu()
            let doubled = activated * 3
            dropoutInput = doubled
            let dropped = try doubled.dropout(p: 0.5, training: true, generator: &generator)
            let part = dropped + 1
            catInput = part
            return try Tensor.cat([part, part], dim: 1).sum()
        }()
        #expect(reluInput == nil && dropoutInput == nil && catInput == nil)
        try loss.backward()
        // d loss / dx = 2 · 2 (both halves) · [x > 0] · 3 · keep / (1 − p), keep ∈ {0, 1}.
        let grad = try #require(x.grad).toArray()
        for (value, g) in zip([Float(-1), 2, -3, 4], grad) {
            #expect(value < 0 ? g == 0 : (g == 0 || g == 24))
        }
        #expect(grad.contains(24) || grad.allSatisfy { $0 == 0 })
    }
}
