# bountyguard with Airflow 3: one image for the scheduler, DAG processor, API server, triggerer and Celery worker.
FROM python:3.11-slim
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1
WORKDIR /opt/bountyguard
COPY pyproject.toml requirements.lock README.md ./
COPY bountyguard ./bountyguard
COPY detectors ./detectors
COPY sql ./sql
COPY dags ./dags
# a non-editable install: the SQL models and the default configuration ship inside the package
RUN pip install --no-cache-dir -c requirements.lock . && rm -rf bountyguard detectors sql
ENV AIRFLOW_HOME=/opt/airflow \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/bountyguard/dags \
    AIRFLOW__CORE__LOAD_EXAMPLES=False
