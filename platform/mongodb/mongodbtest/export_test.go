package mongodbtest

// Unexported helpers exposed to the external tests.
var (
	DatabaseName = databaseName
	SweepStale   = sweepStale
	TempPrefix   = tempPrefix
)
