#' Pipe
#'
#' magrittr's `%>%`, re-exported (as R torch does) so that the post's pipes, such as
#' `img[1, 1, , ] %>% as.array() %>% as.raster() %>% plot()`, run with `library(unetseg)` alone.
#'
#' @name %>%
#' @rdname pipe
#' @keywords internal
#' @importFrom magrittr %>%
#' @export
NULL
