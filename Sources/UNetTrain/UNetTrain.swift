import UNetNN
