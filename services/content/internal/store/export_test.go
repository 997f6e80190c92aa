package store

// QueryArticles exposes the store query ListArticles used before the index, the reference of the
// index's equivalence test.
var QueryArticles = (*Store).queryArticles
