package delivery

// Cached returns how many resources and directories the model keeps compiled forms of.
func Cached(m *Model) (resources, directories int) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.compiled), len(m.intros)
}
