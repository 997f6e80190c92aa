package loop

// TicksToNext exposes IdleBackoff.ticksToNext, the spacing Poll sleeps.
func TicksToNext(b *IdleBackoff) int { return b.ticksToNext() }
