# The production image: dependencies exactly as uv.lock pins them, run as a non-root user.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    UV_NO_CACHE=1 UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1 UV_PROJECT_ENVIRONMENT=/opt/venv \
    PATH=/opt/venv/bin:$PATH ENGAGE_VAR_DIR=/var/lib/engage
WORKDIR /app
# The installer, pinned with its hashes (the same file `make` uses).
COPY tools/uv-requirements.txt tools/
RUN pip install --no-cache-dir --disable-pip-version-check --require-hashes --no-deps -r tools/uv-requirements.txt
# Dependencies first, so a code change does not reinstall them; --locked fails if the lock is stale.
COPY pyproject.toml uv.lock ./
RUN uv sync --locked --no-dev
COPY . .
# Static files are collected into the image; the key below exists only for this build step.
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin engage \
 && DJANGO_ENV=production DJANGO_SECRET_KEY=collectstatic-at-build-time-only-not-a-secret-0123456789 \
    python manage.py collectstatic --noinput \
 && chown -R engage:engage /var/lib/engage
USER engage
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=6s --retries=10 CMD ["python", "-m", "engage.probe", "live"]
CMD ["gunicorn", "engage.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "60", "--access-logfile", "-"]
