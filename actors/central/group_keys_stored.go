package central

// Keys stored before a shared group: a Central that issued a charge point's
// keys before it joined a shared group (it ran alone on the same database)
// publishes them on central.keys when the charge point's monitor registers
// with it and this life has neither read nor published a record of them,
// instead of only at their next rotation: a Central that takes the charge
// point over then opens its records and hands its monitor the same key.
// (Each life of a Central is registered with by every monitor it serves.)

// shareStoredKeys publishes cpID's keys unless the group has them already.
func (c *Central) shareStoredKeys(cpID string) {
	if c.group == nil || c.cfg.Keys == nil || c.cfg.MasterKey == nil || c.registryLog().keys[cpID] {
		return
	}
	_, current := c.cfg.Keys.Current(cpID)
	_, staged := c.cfg.Keys.Staged(cpID)
	if current || staged || c.cfg.Keys.Revoked(cpID) {
		c.shareKeys(cpID)
	}
}
