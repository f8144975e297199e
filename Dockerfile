FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_CONSTRAINT=/app/build-constraints.txt
WORKDIR /app
COPY pyproject.toml build-constraints.txt ./
COPY engage ./engage
COPY statuses ./statuses
COPY accounts ./accounts
COPY billing ./billing
COPY provisioning ./provisioning
RUN pip install --no-cache-dir .
COPY . .
RUN mkdir -p /var/lib/engage
EXPOSE 8000
