package mongodb

// NewMinLevelHandler exposes newMinLevelHandler to the external tests.
var NewMinLevelHandler = newMinLevelHandler

// HeldLocks exposes DocLocks.held to the external tests.
func HeldLocks(k *DocLocks) int { return k.held() }
