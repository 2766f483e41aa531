-- Databases and roles of the distributed deployment. Passwords are set by the operator
-- (ALTER ROLE ... PASSWORD) from the secrets store; none is written here.
create role zhongtai login;
create role airflow login;
create database zhongtai owner zhongtai;
create database airflow owner airflow;
-- query roles own nothing: analysts read marts, grid workers read their district's rows
-- (row-level security on marts.verification_tasks), export readers read exports only.
create role analyst nologin;
create role grid_worker nologin;
create role export_reader nologin;
-- The warehouse's published schemas: analysts read the master libraries (master.*, issue #6)
-- and the marts; lake.* and dbt's staging/intermediate schemas are working tables, not granted.
-- The loader and dbt replace their tables every day, so read comes from default privileges of
-- the owner (the loader also re-grants master.* to an existing analyst role on every load).
\connect zhongtai
create schema master authorization zhongtai;
create schema marts authorization zhongtai;
grant usage on schema master, marts to analyst;
alter default privileges for role zhongtai in schema master grant select on tables to analyst;
alter default privileges for role zhongtai in schema marts grant select on tables to analyst;
