# Production image: gunicorn serves the app, the same image runs the task worker.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DEBUG=false
WORKDIR /app
COPY pyproject.toml ./
COPY dext_connect ./dext_connect
COPY accounts ./accounts
COPY integrations ./integrations
COPY costs ./costs
COPY sandbox ./sandbox
RUN pip install --no-cache-dir .
COPY . .
# collectstatic needs settings that start cleanly; the real SECRET_KEY and FIELD_ENCRYPTION_KEYS come at
# run time (without them the app refuses to start), so the build uses throwaway ones.
RUN SECRET_KEY=build-only \
    FIELD_ENCRYPTION_KEYS="$(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
    python manage.py collectstatic --noinput
EXPOSE 8000
CMD ["gunicorn", "dext_connect.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4"]
