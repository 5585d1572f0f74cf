"""Operations: logging (with secrets redacted), Prometheus metrics, the health server, doctor."""
