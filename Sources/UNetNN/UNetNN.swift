import UNetTensor
