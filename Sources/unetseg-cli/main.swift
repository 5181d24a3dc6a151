import UNetTensor
print(BLAS.coreName)
