-- The anomaly model kept between runs (detectors/anomaly.py) holds behaviour features per person id,
-- some of them of the forgotten person. After a `forget` all of it goes: the next run fits again on
-- the data as it is after the erasure.
DELETE FROM anomaly_model;
DELETE FROM anomaly_reference;
DELETE FROM anomaly_scores;
