//! A run's complete output file (both streams as they arrived), as `orc history --run ID
//! --log` and the REST API's `/api/v1/runs/{id}/log` show it.

use super::RunRecord;
use crate::error::{Error, Result};

/// The output file of `run` and its decoded text.
pub fn read_log(run: &RunRecord) -> Result<(String, String)> {
    let id = run.id;
    let Some(file) = run.process.output_file.clone().filter(|f| std::path::Path::new(f).exists())
    else {
        return Err(Error::Failed(format!(
            "run {id} has no output file (it printed nothing, or the file was removed by \
             retention); `orc history --run {id}` shows the stored head and tail"
        )));
    };
    let bytes = std::fs::read(&file).map_err(|e| Error::io("read", &file, e))?;
    Ok((file, crate::exec::decode::decode(&bytes)))
}
