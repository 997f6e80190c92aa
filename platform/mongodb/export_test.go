package mongodb

// NewMinLevelHandler exposes newMinLevelHandler to the external tests.
var NewMinLevelHandler = newMinLevelHandler
