import UNetTrain
