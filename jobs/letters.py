"""Job: build a print batch's PDF and manifest."""
from __future__ import annotations

from pathlib import Path

from jobs import app_context
from retention import clock


def build_print_batch(batch_id: int) -> int:
    """Write the batch's PDF and manifest; returns how many letters it holds."""
    from retention.extensions import db
    from retention.postal import batches, service

    with app_context() as app:
        now = clock.now()
        batch = batches.build_batch(db.session, batch_id, out_dir=Path(app.config["PRINT_PATH"]),
                                    company=service.company_from(app.config), today=now.date(), now=now)
        return batch.done
