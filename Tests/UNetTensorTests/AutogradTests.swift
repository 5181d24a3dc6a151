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
}
