package delivery

// Cached returns how many resources and directories the model keeps compiled forms of.
func Cached(m *Model) (resources, directories int) {
	m.compiled.Range(func(any, any) bool { resources++; return true })
	m.intros.Range(func(any, any) bool { directories++; return true })
	return resources, directories
}
