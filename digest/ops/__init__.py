"""Operations: the editors dashboard (metrics, charts, the view) and the health check.

Imports models and papers to read them; changes nothing and queues nothing."""
