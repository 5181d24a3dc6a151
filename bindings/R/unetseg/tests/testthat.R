library(testthat)
library(unetseg)

test_check("unetseg")
