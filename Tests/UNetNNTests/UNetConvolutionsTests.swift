import Testing
import UNetNN
import UNetTensor
import _UNetSupport

/// `UNet.convolutions`: the per-layer list the benchmarks time must name every convolution of the model,
/// in forward order, with the input each one really sees.
@Suite struct UNetConvolutionsTests {
    @Test func listsEveryConvolutionInForwardOrderWithItsInput() throws {
        var g = RandomGenerator(seed: 3)
        let model = try UNet(UNetConfig(depth: 3, nFilters: 2), generator: &g)
        let convolutions = model.convolutions(batch: 2, height: 32, width: 16)
        let weightNames = model.namedParameters().map(\.name).filter { $0.hasSuffix(".weight") }
        #expect(convolutions.map { $0.name + ".weight" } == weightNames)
        let inputs = Dictionary(uniqueKeysWithValues: convolutions.map { ($0.name, $0.inputShape) })
        #expect(inputs["down_path.0.conv_block.conv_block.0"] == [2, 3, 32, 16])
        #expect(inputs["down_path.2.conv_block.conv_block.3"] == [2, 16, 8, 4])
        #expect(inputs["up_path.0.up"] == [2, 16, 8, 4])
        #expect(inputs["up_path.0.conv_block.conv_block.0"] == [2, 16, 16, 8])
        #expect(inputs["up_path.1.conv_block.conv_block.3"] == [2, 4, 32, 16])
        #expect(inputs["last"] == [2, 4, 32, 16])
        // Every layer accepts its listed input, and a down block's second convolution keeps the size.
        for c in convolutions {
            let x = try Tensor.zeros(c.inputShape)
            let layer = try #require(c.layer as? any Layer)
            #expect(try layer(x).shape[0] == 2)
        }
    }
}
