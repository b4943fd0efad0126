package config

// dialableList checks --central: one HOST:PORT, or several separated by
// commas (the Centrals of one shared group).
func dialableList(list string) error {
	items := SplitList(list)
	if len(items) == 0 {
		return Usagef("central", "must name at least one HOST:PORT")
	}
	for _, a := range items {
		if err := dialable(a); err != nil {
			return Usagef("central", "%q: %v", a, err)
		}
	}
	return nil
}
